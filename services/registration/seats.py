"""The storage side of seat accounting: trainings locked in order, seats read under the lock,
and seat counters moved by conditional updates that fail rather than overbook."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, update
from sqlmodel import select

from services.registration import domain
from services.registration.tables import (
    RegistrationRow,
    TrainingRow,
    quota,
    registration,
    training,
)
from shared.db import UnitOfWork
from shared.errors import NotFound


async def training_for_update(uow: UnitOfWork, training_id: str) -> TrainingRow:
    """The catalogue row, locked on PostgreSQL so seat changes of one training queue up."""
    row = (
        await uow.session.exec(
            select(TrainingRow)
            .where(TrainingRow.id == training_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).first()
    if row is None:
        raise NotFound(f"no training {training_id} open for registration", field="training_id")
    return row


async def locked(uow: UnitOfWork, registration_id: str) -> tuple[RegistrationRow, TrainingRow]:
    """The registration, read again after its training's row lock is held."""
    training_id = (
        await uow.session.exec(
            select(RegistrationRow.training_id).where(RegistrationRow.id == registration_id)
        )
    ).first()
    if training_id is None:
        raise NotFound(f"no registration {registration_id}")
    training_row = await training_for_update(uow, training_id)
    row = (
        await uow.session.exec(
            select(RegistrationRow)
            .where(RegistrationRow.id == registration_id)
            .execution_options(populate_existing=True)
        )
    ).one()
    return row, training_row


async def seats_of(uow: UnitOfWork, training_id: str) -> domain.Seats:
    """The training's seats as committed, read under its lock."""
    capacity, taken = (
        await uow.execute(
            select(training.c.capacity, training.c.taken).where(training.c.id == training_id)
        )
    ).one()
    quotas = {
        country: maximum
        for country, maximum in await uow.execute(
            select(quota.c.country, quota.c.maximum).where(quota.c.training_id == training_id)
        )
    }
    confirmed: dict[str, int] = {}
    if quotas:
        confirmed = {
            country: count
            for country, count in await uow.execute(
                select(registration.c.country, func.count())
                .where(registration.c.training_id == training_id)
                .where(registration.c.status == "confirmed")
                .group_by(registration.c.country)
            )
        }
    waitlisted = (
        await uow.execute(
            select(func.count())
            .select_from(registration)
            .where(registration.c.training_id == training_id)
            .where(registration.c.status == "waitlisted")
        )
    ).scalar_one()
    return domain.Seats(
        capacity=capacity,
        taken=taken,
        quotas=quotas,
        confirmed_by_country=confirmed,
        waitlisted=waitlisted,
    )


async def move_seats(uow: UnitOfWork, training_id: str, delta: int) -> None:
    """Change the seat count; the conditions make an overbooking fail loudly, never pass."""
    if delta == 0:
        return
    statement = update(training).where(training.c.id == training_id)
    if delta > 0:
        statement = statement.where(training.c.taken + delta <= training.c.capacity)
    else:
        statement = statement.where(training.c.taken + delta >= 0)
    result = await uow.execute(statement.values(taken=training.c.taken + delta))
    if result.rowcount != 1:
        raise RuntimeError(f"seat count of training {training_id} cannot move by {delta}")


async def seats_for_batch(uow: UnitOfWork, trainings: Mapping[str, Any]) -> dict[str, domain.Seats]:
    """The locked trainings' seats: one statement, and one more only where quotas exist."""
    if not trainings:
        return {}
    waitlisted = (
        select(func.count())
        .select_from(registration)
        .where(registration.c.training_id == training.c.id)
        .where(registration.c.status == "waitlisted")
        .scalar_subquery()
    )
    quota_count = (
        select(func.count())
        .select_from(quota)
        .where(quota.c.training_id == training.c.id)
        .scalar_subquery()
    )
    counts = {
        row.id: row
        for row in await uow.execute(
            select(
                training.c.id, waitlisted.label("waitlisted"), quota_count.label("quotas")
            ).where(training.c.id.in_(padded(list(trainings))))
        )
    }
    quotas: dict[str, dict[str, int]] = {}
    confirmed: dict[str, dict[str, int]] = {}
    with_quotas = [training_id for training_id, row in counts.items() if row.quotas]
    if with_quotas:
        for row in await uow.execute(select(quota).where(quota.c.training_id.in_(with_quotas))):
            quotas.setdefault(row.training_id, {})[row.country] = row.maximum
        for training_id, country, count in await uow.execute(
            select(registration.c.training_id, registration.c.country, func.count())
            .where(registration.c.training_id.in_(with_quotas))
            .where(registration.c.status == "confirmed")
            .group_by(registration.c.training_id, registration.c.country)
        ):
            confirmed.setdefault(training_id, {})[country] = count
    return {
        training_id: domain.Seats(
            capacity=row.capacity,
            taken=row.taken,
            quotas=quotas.get(training_id, {}),
            confirmed_by_country=confirmed.get(training_id, {}),
            waitlisted=counts[training_id].waitlisted,
        )
        for training_id, row in trainings.items()
    }


def padded(values: Sequence[str]) -> list[str]:
    """The values, the last repeated up to a power of two: an IN list of a few lengths only,
    so PostgreSQL reuses its prepared statements instead of preparing one per batch size."""
    if not values:
        return []
    size = 1
    while size < len(values):
        size *= 2
    return [*values, *[values[-1]] * (size - len(values))]
