"""Registration rules: seats, quotas, waitlist order, windows and check-in, without I/O."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from shared.problems import Problem

ACTIVE = ("confirmed", "waitlisted", "pending")
STATUSES = (*ACTIVE, "declined", "cancelled")

# Why a registration waits.
FULL = "full"
COUNTRY_QUOTA = "country_quota"

K = TypeVar("K", bound=Hashable)


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
        # Without an explicit close, registration ends when the first day begins locally.
        closes = self.closes_at or first_day_begins(self.starts_on, self.timezone)
        return now < closes


def first_day_begins(starts_on: date, timezone: str) -> datetime:
    return datetime.combine(starts_on, datetime.min.time(), ZoneInfo(timezone))


def check_open(window: Window, now: datetime, *, by_staff: bool) -> None:
    if window.status != "published":
        raise Problem(409, f"this training is {window.status}: registration is closed")
    if by_staff:
        return
    if window.opens_at is not None and now < window.opens_at:
        raise Problem(409, "registration for this training has not opened yet")
    if not window.is_open(now):
        raise Problem(409, "registration for this training has closed")


@dataclass
class Seats:
    """One training's seats while a unit of work decides registrations in arrival order.

    Built from the training row (locked) and counts read in the same transaction, so
    each decision sees the ones before it, in this batch and in earlier commits.
    """

    capacity: int
    taken: int
    quotas: Mapping[str, int] = field(default_factory=dict)
    confirmed_by_country: dict[str, int] = field(default_factory=dict)
    waitlisted: int = 0

    @property
    def left(self) -> int:
        return max(0, self.capacity - self.taken)

    def within_quota(self, country: str) -> bool:
        maximum = self.quotas.get(country)
        return maximum is None or self.confirmed_by_country.get(country, 0) < maximum

    def take(self, country: str) -> None:
        self.taken += 1
        self.confirmed_by_country[country] = self.confirmed_by_country.get(country, 0) + 1

    def free(self, country: str) -> None:
        self.taken = max(0, self.taken - 1)
        held = self.confirmed_by_country.get(country, 0)
        self.confirmed_by_country[country] = max(0, held - 1)

    def admit(self, country: str, *, moderated: bool) -> Admission:
        """The status a new registration gets: confirmed, waitlisted (why, where) or pending."""
        if moderated:
            return Admission("pending")
        return self.seat_or_wait(country)

    def seat_or_wait(self, country: str) -> Admission:
        if not self.within_quota(country):
            return self._wait(COUNTRY_QUOTA)
        if self.left == 0:
            return self._wait(FULL)
        self.take(country)
        return Admission("confirmed")

    def _wait(self, reason: str) -> Admission:
        self.waitlisted += 1
        return Admission("waitlisted", reason, self.waitlisted)

    def promotions(self, waiting: Sequence[tuple[K, str]]) -> list[K]:
        """Who gets the free seats: the waitlist in arrival order, skipping anyone over quota."""
        chosen: list[K] = []
        for key, country in waiting:
            if self.left == 0:
                break
            if self.within_quota(country):
                self.take(country)
                chosen.append(key)
        self.waitlisted -= len(chosen)
        return chosen


@dataclass(frozen=True)
class Admission:
    status: str
    reason: str | None = None
    position: int | None = None


def check_in_allowed(
    status: str, training_status: str, starts_on: date, timezone: str, now: datetime
) -> None:
    if training_status != "published":
        raise Problem(409, f"check-in is closed: the training is {training_status}")
    if status != "confirmed":
        raise Problem(409, f"only a confirmed registration can be checked in; this one is {status}")
    if now < first_day_begins(starts_on, timezone):
        raise Problem(409, "check-in opens on the training's first day")


def waitlist_positions(waiting_in_arrival_order: Iterable[K]) -> dict[K, int]:
    return {key: number for number, key in enumerate(waiting_in_arrival_order, start=1)}


def normalise_email(email: str) -> str:
    return email.strip().lower()
