"""What the API and the pages show of rows: catalogue entries, registrations, the manage page."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import msgspec
from sqlmodel.ext.asyncio.session import AsyncSession

from services.registration import (
    attendance,
    attendance_days,
    domain,
    programme,
    queries,
    visa_commands,
)
from services.registration.schemas import CatalogueEntry, LetterOut, Needs, RegistrationOut
from services.registration.tables import CertificateRow, TrainingRow
from shared.settings import Settings
from shared.structs import carried


def catalogue_entry(training: TrainingRow, now: datetime) -> CatalogueEntry:
    return carried(
        CatalogueEntry,
        training,
        seats_left=max(0, training.capacity - training.taken),
        registration_open=domain.window_of(training).is_open(now) and not training.by_nomination,
    )


@dataclass(frozen=True)
class Programme:
    """A training's sessions (none cancelled) in its zone, and the zone named."""

    sessions: list[programme.Item]
    zone: str


def programme_of(training: TrainingRow) -> Programme:
    listed = programme.items(training.sessions, training.timezone)
    return Programme(
        sessions=[item for item in listed if not item.cancelled],
        zone=programme.zone_name(training.timezone, training.starts_on),
    )


def registration_out(
    values: Any,
    position: int | None,
    cls: type[RegistrationOut] = RegistrationOut,
    days: Sequence[date] = (),
    **extra: Any,
) -> RegistrationOut:
    """The API view of a registration row (ORM row or dict of its columns)."""
    get: Callable[[str], Any] = (
        values.get if isinstance(values, Mapping) else values.__getattribute__
    )
    needs = get("needs")
    return cls(
        id=get("id"),
        training_id=get("training_id"),
        participant_id=get("participant_id"),
        status=get("status"),
        name=get("name"),
        email=get("email"),
        organisation=get("organisation"),
        position=get("position"),
        country=get("country"),
        category=get("category"),
        needs=msgspec.convert(needs, Needs) if needs else None,
        waitlist_position=position,
        waitlist_reason=get("waitlist_reason"),
        checked_in=get("checked_in_at") is not None,
        created_at=get("created_at"),
        updated_at=get("updated_at"),
        language=get("language") or "en",
        check_in_code=get("check_in_code"),
        days_attended=list(days),
        **extra,
    )


@dataclass(frozen=True)
class ManageView:
    """The manage page's facts: the registration, its training and the calendar link."""

    registration: RegistrationOut
    training: CatalogueEntry | None
    calendar_url: str | None
    active: bool
    letter: LetterOut | None = None
    # Whether a valid certificate of attendance can be downloaded.
    certified: bool = False


async def manage_view(
    session: AsyncSession, settings: Settings, token: str, now: datetime
) -> ManageView | None:
    """What the holder of this manage token sees (None: the token opens nothing)."""
    row = await queries.by_manage_token(session, token)
    if row is None:
        return None
    training = await session.get(TrainingRow, row.training_id)
    position = await queries.waitlist_position(session, row)
    days = await attendance.days_of(session, row.id)
    calendar = await queries.participant_calendar_url(session, settings, row.participant_id)
    letter = await visa_commands.letter_of(session, row.id)
    certificate = await session.get(CertificateRow, row.id)
    return ManageView(
        registration=registration_out(row, position, days=days),
        training=catalogue_entry(training, now) if training else None,
        calendar_url=calendar,
        active=row.status in domain.ACTIVE,
        letter=visa_commands.letter_out(settings, letter) if letter is not None else None,
        certified=certificate is not None and certificate.status == "valid",
    )


@dataclass(frozen=True)
class StaffTraining:
    """A training as staff see it at a glance: its entry and how its registrations stand."""

    training: CatalogueEntry
    confirmed: int
    waitlisted: int
    pending: int
    checked_in: int
    # (day, confirmed participants checked in that day) for every day of the training.
    per_day: list[tuple[date, int]]

    @property
    def seats_left(self) -> int:
        return self.training.seats_left


def staff_training(
    row: TrainingRow,
    counts: Mapping[str, int],
    now: datetime,
    attended: Mapping[date, int] | None = None,
) -> StaffTraining:
    attended = attended or {}
    return StaffTraining(
        training=catalogue_entry(row, now),
        confirmed=counts.get("confirmed", 0),
        waitlisted=counts.get("waitlisted", 0),
        pending=counts.get("pending", 0),
        checked_in=counts.get("checked_in", 0),
        per_day=[(day, attended.get(day, 0)) for day in attendance_days.training_days(row)],
    )
