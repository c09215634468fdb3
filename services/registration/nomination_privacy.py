"""Erasing what nominations hold of a person: their nominations (withdrawn first while they
still wait or hold an offer) and their focal point roles; on request or after retention."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.registration import nomination_rules as rules
from services.registration import nomination_views as views
from services.registration import nominations
from services.registration.seats import training_for_update
from services.registration.tables import FocalPointRow, NominationRow, TrainingRow
from shared.clock import clock
from shared.db import UnitOfWork
from shared.settings import Settings


def _anonymise_nomination(row: NominationRow, now: datetime) -> None:
    row.name = ""
    row.email = ""
    row.organisation = ""
    row.position = None
    # The link stops working; the column stays unique and never matches a hash.
    row.token_sha256 = f"erased-{row.id}"
    row.erased_at = now


def _anonymise_focal_point(row: FocalPointRow, now: datetime) -> None:
    row.name = ""
    row.email = ""
    row.token_sha256 = f"erased-{row.id}"
    row.erased_at = now


async def _erase(
    uow: UnitOfWork,
    settings: Settings,
    nomination_ids: Sequence[str],
    focal_point_ids: Sequence[str],
) -> None:
    now = clock.now()
    rows = list(
        await uow.session.exec(
            select(NominationRow)
            .where(col(NominationRow.id).in_(list(nomination_ids)))
            .order_by(col(NominationRow.training_id), col(NominationRow.number))
        )
    )
    # Trainings are locked in id order everywhere, so two writers cannot deadlock.
    for training_id in sorted({row.training_id for row in rows}):
        training = await training_for_update(uow, training_id)
        own = [row for row in rows if row.training_id == training_id]
        freed = False
        for row in own:
            _anonymise_nomination(row, now)
            if row.status in (rules.OFFERED, rules.WAITING):
                freed = True
                row.status = rules.WITHDRAWN
                row.revision += 1
                row.updated_at = now
                nominations.announce(uow, settings, training, row)
            uow.session.add(row)
        if freed:
            await uow.session.flush()
            await nominations.offer_places(uow, settings, training, now)
    for point in await uow.session.exec(
        select(FocalPointRow).where(col(FocalPointRow.id).in_(list(focal_point_ids)))
    ):
        _anonymise_focal_point(point, now)
        uow.session.add(point)
    await uow.session.flush()


async def export_person(session: AsyncSession, address: str) -> dict[str, Any]:
    """The nominations of `address` and its focal point roles, for the privacy export."""
    nominated = await session.exec(
        select(NominationRow)
        .where(NominationRow.email == address)
        .order_by(col(NominationRow.number))
    )
    roles = await session.exec(
        select(FocalPointRow)
        .where(FocalPointRow.email == address)
        .order_by(col(FocalPointRow.created_at))
    )
    return {
        "nominations": [views.nomination_out(row) for row in nominated],
        "focal_points": [views.focal_point_out(row) for row in roles],
    }


async def erase_person(uow: UnitOfWork, settings: Settings, address: str) -> tuple[int, int]:
    """Erase the nominations of `address` and its focal point roles: (nominations, roles)."""
    nomination_ids = list(
        await uow.session.exec(
            select(NominationRow.id)
            .where(NominationRow.email == address)
            .where(col(NominationRow.erased_at).is_(None))
        )
    )
    focal_point_ids = list(
        await uow.session.exec(
            select(FocalPointRow.id)
            .where(FocalPointRow.email == address)
            .where(col(FocalPointRow.erased_at).is_(None))
        )
    )
    await _erase(uow, settings, nomination_ids, focal_point_ids)
    return len(nomination_ids), len(focal_point_ids)


async def erase_ended(uow: UnitOfWork, settings: Settings, cutoff: datetime) -> int:
    """Nominations and focal points of trainings that ended a retention period ago."""
    ended = (
        select(TrainingRow.id)
        .where(
            or_(
                col(TrainingRow.completed_at) <= cutoff,
                col(TrainingRow.cancelled_at) <= cutoff,
            )
        )
        .scalar_subquery()
    )
    nomination_ids = list(
        await uow.session.exec(
            select(NominationRow.id)
            .where(col(NominationRow.training_id).in_(ended))
            .where(col(NominationRow.erased_at).is_(None))
        )
    )
    focal_point_ids = list(
        await uow.session.exec(
            select(FocalPointRow.id)
            .where(col(FocalPointRow.training_id).in_(ended))
            .where(col(FocalPointRow.erased_at).is_(None))
        )
    )
    await _erase(uow, settings, nomination_ids, focal_point_ids)
    return len(nomination_ids) + len(focal_point_ids)
