"""Registration rules: seats, quotas, waitlist order, windows and check-in, without I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from shared.problems import Problem

ACTIVE = ("confirmed", "waitlisted", "pending")


@dataclass(frozen=True)
class Window:
    opens_at: datetime | None
    closes_at: datetime | None
    status: str
    starts_on: date
    timezone: str

    def is_open(self, now: datetime) -> bool:
        if self.status != "published":
            return False
        if self.opens_at is not None and now < self.opens_at:
            return False
        closes = self.closes_at or datetime.combine(
            self.starts_on, datetime.min.time(), ZoneInfo(self.timezone)
        )
        return now < closes


def check_open(window: Window, now: datetime, *, by_staff: bool) -> None:
    if window.status != "published":
        raise Problem(409, f"this training is {window.status}: registration is closed")
    if not by_staff and not window.is_open(now):
        raise Problem(409, "registration for this training is not open now")


def first_status(*, moderated: bool, seat_free: bool, within_quota: bool) -> tuple[str, str | None]:
    """The status a new registration gets, and why it waits if it does."""
    if moderated:
        return "pending", None
    if not within_quota:
        return "waitlisted", "country_quota"
    if not seat_free:
        return "waitlisted", "full"
    return "confirmed", None


def check_in_allowed(
    status: str, training_status: str, starts_on: date, timezone: str, now: datetime
) -> None:
    if status != "confirmed":
        raise Problem(409, f"only a confirmed registration can be checked in; this one is {status}")
    if training_status != "published":
        raise Problem(409, f"check-in is closed: the training is {training_status}")
    first_day = datetime.combine(starts_on, datetime.min.time(), ZoneInfo(timezone))
    if now < first_day:
        raise Problem(409, "check-in opens on the training's first day")
