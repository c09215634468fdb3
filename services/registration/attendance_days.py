"""Attendance per day: when a check-in may be recorded, for which day, and whether the days
attended cover the training (what a certificate needs). Pure: no framework, no database."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from services.registration.domain import first_day_begins
from shared.errors import Conflict, Invalid


def check_in_open(training_status: str, *, correcting: bool = False) -> None:
    if training_status != "published" and not (correcting and training_status == "completed"):
        raise Conflict(f"check-in is closed: the training is {training_status}")


def check_in_allowed(
    status: str,
    training_status: str,
    starts_on: date,
    timezone: str,
    now: datetime,
    *,
    correcting: bool = False,
) -> None:
    """Check-in runs from the training's first day until it is completed; `correcting`
    (the secretariat) may still change the attendance of a completed training."""
    check_in_open(training_status, correcting=correcting)
    if status != "confirmed":
        raise Conflict(f"only a confirmed registration can be checked in; this one is {status}")
    if now < first_day_begins(starts_on, timezone):
        raise Conflict("check-in opens on the training's first day")


class Days(Protocol):
    """What the attendance rules read of a training: its dates, zone and status."""

    starts_on: date
    ends_on: date
    timezone: str
    status: str


def training_days(training: Days) -> list[date]:
    """Every day of the training, first to last."""
    count = (training.ends_on - training.starts_on).days + 1
    return [training.starts_on + timedelta(days=n) for n in range(max(count, 1))]


def parse_day(text: str | None) -> date | None:
    """A day as the API takes it (`YYYY-MM-DD`); None when not given."""
    if text is None or not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(f"day {text!r} is not a date (YYYY-MM-DD)", field="day") from None


def attendance_day(training: Days, day: date | None, now: datetime) -> date:
    """The day a check-in is for: the one named, else today in the training's zone (once
    the training is over, its last day: a check-in recorded late, as callers from before
    attendance per day do). It must be one of the training's days and not in the future
    (422 naming `day`)."""
    today = now.astimezone(ZoneInfo(training.timezone)).date()
    chosen = day or min(today, training.ends_on)
    if not training.starts_on <= chosen <= training.ends_on:
        raise Invalid(
            f"day {chosen} is not a day of this training ({training.starts_on} to "
            f"{training.ends_on})",
            field="day",
        )
    if chosen > today:
        raise Invalid(f"day {chosen} is in the future", field="day")
    return chosen


def day_changed(
    status: str,
    training: Days,
    attended: Collection[date],
    day: date | None,
    now: datetime,
    *,
    undo: bool = False,
    correcting: bool = False,
) -> date | None:
    """The day a confirmed participant came, from the training's first day; None when that
    day is already recorded (twice is once). With `undo`, the day whose check-in was a
    mistake, whatever the registration's status now; None when it was never recorded."""
    if undo:
        check_in_open(training.status, correcting=correcting)
    else:
        check_in_allowed(
            status,
            training.status,
            training.starts_on,
            training.timezone,
            now,
            correcting=correcting,
        )
    chosen = attendance_day(training, day, now)
    recorded = chosen in attended
    if undo:
        return chosen if recorded else None
    return None if recorded else chosen


def attended_every_day(training: Days, attended: Collection[date]) -> bool:
    """Whether the days attended cover the whole training: what a certificate needs."""
    return set(training_days(training)) <= set(attended)
