"""Attendance per day: the days each registration attended, stored and read, and the events
that tell evaluation (which invites anyone who attended at least one day)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.registration.tables import AttendanceRow, RegistrationRow
from shared.db import UnitOfWork
from shared.events import contracts as ev
from shared.structs import carried


async def days_of(session: AsyncSession, registration_id: str) -> list[date]:
    """The days this registration attended, in order."""
    rows = await session.exec(
        select(col(AttendanceRow.day))
        .where(AttendanceRow.registration_id == registration_id)
        .order_by(col(AttendanceRow.day))
    )
    return list(rows)


async def days_by_registration(
    session: AsyncSession, registration_ids: Sequence[str]
) -> dict[str, list[date]]:
    """Registration id -> the days it attended, for a page of registrations in one query."""
    found: dict[str, list[date]] = {registration_id: [] for registration_id in registration_ids}
    for start in range(0, len(registration_ids), 500):
        rows = await session.exec(
            select(AttendanceRow.registration_id, col(AttendanceRow.day))
            .where(col(AttendanceRow.registration_id).in_(registration_ids[start : start + 500]))
            .order_by(col(AttendanceRow.day))
        )
        for registration_id, day in rows:
            found[registration_id].append(day)
    return found


async def per_day(session: AsyncSession, training_ids: Sequence[str]) -> dict[str, dict[date, int]]:
    """Training id -> day -> how many confirmed participants attended that day."""
    counts: dict[str, dict[date, int]] = {training_id: {} for training_id in training_ids}
    if not training_ids:
        return counts
    rows = await session.exec(
        select(RegistrationRow.training_id, col(AttendanceRow.day), func.count())
        .join(RegistrationRow, col(RegistrationRow.id) == col(AttendanceRow.registration_id))
        .where(col(RegistrationRow.training_id).in_(training_ids))
        .where(RegistrationRow.status == "confirmed")
        .group_by(col(RegistrationRow.training_id), col(AttendanceRow.day))
    )
    for training_id, day, count in rows:
        counts[training_id][day] = int(count)
    return counts


async def record(
    uow: UnitOfWork,
    row: RegistrationRow,
    day: date,
    attended: Sequence[date],
    now: datetime,
) -> list[date]:
    """Store a day's check-in of a revised registration and announce it; the days now."""
    uow.session.add(AttendanceRow(registration_id=row.id, day=day, checked_in_at=now))
    days = sorted({*attended, day})
    # `checked_in_at` keeps meaning "attended at least once", when first seen.
    row.checked_in_at = row.checked_in_at or now
    announce_person(uow, ev.RegistrationCheckedIn, row, day=day, days_attended=days)
    return days


def announce_person(
    uow: UnitOfWork,
    event: type[ev.RegistrationCheckedIn] | type[ev.RegistrationUpdated],
    row: RegistrationRow,
    **extra: Any,
) -> None:
    """Emit an event that carries what other services hold of the person (name, e-mail,
    language): marked with the participant, so that erasing them reaches the streams."""
    uow.emit(carried(event, row, waitlist_position=None, **extra), person=row.participant_id)


async def remove(
    uow: UnitOfWork, row: RegistrationRow, day: date, attended: Sequence[date]
) -> list[date]:
    """Undo a day's check-in of a revised registration and announce it; the days left."""
    await uow.execute(
        delete(AttendanceRow)
        .where(col(AttendanceRow.registration_id) == row.id)
        .where(col(AttendanceRow.day) == day)
    )
    days = [kept for kept in attended if kept != day]
    if not days:
        row.checked_in_at = None
    # While a day remains the person still attended: the event carries what the evaluation
    # invitation needs, as a check-in does, so it holds whichever event arrives first.
    person = row.participant_id if days else None
    undone = carried(
        ev.RegistrationCheckInUndone,
        row,
        day=day,
        days_attended=days,
        name=row.name if days else "",
        email=row.email if days else "",
    )
    uow.emit(undone, person=person)
    return days
