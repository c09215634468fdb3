"""What registration's staff actions name in the audit log (shared.audit): the registration
or training acted on, by id; an organiser's words to one participant are kept apart, to be
emptied when that participant is erased."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.registration import domain, queries
from services.registration.schemas import ErasureOut, PrivacyExport
from services.registration.tables import CertificateRow, RegistrationRow, TrainingRow
from shared.audit import Target
from shared.db import UnitOfWork
from shared.errors import NotFound


async def _host(uow: UnitOfWork, training_id: str) -> str | None:
    row = await uow.session.get(TrainingRow, training_id)
    return row.host_country if row is not None else None


def registration_target(
    row: RegistrationRow, host: str | None, message: str | None = None, day: date | None = None
) -> Target:
    detail: dict[str, Any] = {"status": row.status}
    if row.checked_in_at is not None:
        detail["checked_in"] = True
    if day is not None:
        detail["day"] = day.isoformat()
    personal = {"message": message} if message else None
    return Target(
        "registration",
        row.id,
        row.training_id,
        host,
        detail,
        person=row.participant_id,
        personal=personal,
    )


async def registration(uow: UnitOfWork, input: Any, result: Any) -> Target:
    """A command on one registration: its result is the registration (or a `Decided`)."""
    row = getattr(result, "row", None) or await uow.session.get(
        RegistrationRow, input.registration_id
    )
    if row is None:
        raise NotFound(f"no registration {input.registration_id}", field="registration_id")
    message = domain.staff_message(getattr(input, "message", None))
    host = await _host(uow, row.training_id)
    return registration_target(row, host, message, getattr(input, "day", None))


async def certificate(uow: UnitOfWork, input: Any, result: CertificateRow) -> Target:
    """A revoked certificate: named by its registration, with the reason's category."""
    row = await queries.get_registration(uow.session, result.registration_id)
    return Target(
        "certificate",
        result.registration_id,
        result.training_id,
        await _host(uow, result.training_id),
        {"status": result.status, "reason": result.reason},
        person=row.participant_id,
    )


async def quotas(uow: UnitOfWork, input: Any, result: dict[str, int]) -> Target:
    host = await _host(uow, input.training_id)
    return Target("training", input.training_id, input.training_id, host, {"quotas": result})


async def message(uow: UnitOfWork, input: Any, result: int) -> Target:
    """The organisers' message to every confirmed participant: its subject and how many got
    it; the text itself is the mail's (erased with each recipient), not the log's."""
    host = await _host(uow, input.training_id)
    detail = {"subject": domain.message_subject(input.subject), "recipients": result}
    return Target("training", input.training_id, input.training_id, host, detail)


async def erasure(uow: UnitOfWork, input: str, result: ErasureOut) -> Target:
    """An erasure names the participant by id only: the address asked for is gone."""
    detail = {
        "registrations_erased": result.registrations_erased,
        "registrations_cancelled": result.registrations_cancelled,
    }
    return Target("participant", result.participant_id or "unknown", detail=detail)


async def export(uow: UnitOfWork, input: str, result: PrivacyExport) -> Target:
    """An export names the participant by id, when there is one, and what it held."""
    detail = {"registrations": len(result.registrations), "mails": len(result.mails)}
    known = result.participant.id if result.participant is not None else "unknown"
    return Target("participant", known, detail=detail)


async def focal_point(uow: UnitOfWork, input: Any, result: Any) -> Target:
    """A focal point named, by id and country: their name and address stay in their row."""
    host = await _host(uow, result.training_id)
    return Target("focal_point", result.id, result.training_id, host, {"country": result.country})
