"""What scheduling's staff actions name in the audit log (shared.audit): the training,
session, series or staff member each acted on."""

from __future__ import annotations

from typing import Any

import msgspec

from services.scheduling.tables import SeriesRow, SessionRow, TrainingRow
from shared.audit import Target
from shared.db import UnitOfWork
from shared.structs import provided


def _sent(patch: msgspec.Struct) -> list[str]:
    """The names of the fields a patch sets: what changed, not the new values."""
    return sorted(provided(patch))


async def training(uow: UnitOfWork, input: Any, result: TrainingRow) -> Target:
    detail: dict[str, Any] = {"status": result.status}
    if changes := getattr(input, "changes", None):
        detail["fields"] = _sent(changes)
    if reason := getattr(input, "reason", None):
        detail["reason"] = reason
    if getattr(input, "override_conflicts", False):
        detail["override_conflicts"] = True
    return Target("training", result.id, result.id, result.host_country, detail)


async def created(uow: UnitOfWork, input: Any, result: TrainingRow) -> Target:
    detail = {"title": result.title, "series": result.series, "starts_on": str(result.starts_on)}
    if earlier := getattr(input, "earlier", None):
        detail["copied_from"] = earlier
    return Target("training", result.id, result.id, result.host_country, detail)


async def session(uow: UnitOfWork, input: Any, result: SessionRow) -> Target:
    owner = await uow.session.get(TrainingRow, result.training_id)
    detail: dict[str, Any] = {"title": result.title, "status": result.status}
    if changes := getattr(input, "changes", None):
        detail["fields"] = _sent(changes)
    host = owner.host_country if owner is not None else None
    return Target("session", result.id, result.training_id, host, detail)


async def series(uow: UnitOfWork, input: Any, result: SeriesRow) -> Target:
    return Target("series", result.slug, detail={"title": result.title})


async def staff_member(uow: UnitOfWork, input: Any, result: Any) -> Target:
    """Staff management: the input is an enrolment or an e-mail address."""
    email = str(getattr(input, "email", input)).strip().lower()
    detail: dict[str, Any] = {}
    if hasattr(input, "role"):
        detail = {"role": input.role, "countries": sorted(c.upper() for c in input.countries)}
    return Target("staff", email, detail=detail)
