"""Registration rules: seats, quotas, waitlist order, windows and check-in, without I/O."""

from __future__ import annotations

import secrets
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from services.registration.membership import category
from shared.countries import UnknownCountry, is_country
from shared.errors import Conflict, Invalid
from shared.events import contracts as ev
from shared.inputs import REFUSED_TEXT, is_line, is_text
from shared.structs import carried

ACTIVE = ("confirmed", "waitlisted", "pending")
STATUSES = (*ACTIVE, "declined", "cancelled")

# Why a registration waits.
FULL = "full"
COUNTRY_QUOTA = "country_quota"

K = TypeVar("K", bound=Hashable)

# Badge check-in codes: no 0/O, 1/I/L, so that a code read off a badge is typed right;
# 10 of these 31 signs are about 50 bits, far more than any series will print.
CHECK_IN_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CHECK_IN_CODE_LENGTH = 10

# The largest quota one country may be given.
MAX_QUOTA = 100_000


class TrainingFacts(Protocol):
    """What mails and windows need of a training: an ORM row or a Core row alike."""

    id: str
    title: str
    city: str
    host_country: str
    starts_on: date
    timezone: str
    status: str
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None


class Submission(Protocol):
    """What the rules read of a registration as submitted (the request body)."""

    name: str
    organisation: str
    country: str
    consent: bool


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


def window_of(training: TrainingFacts) -> Window:
    return carried(
        Window,
        training,
        opens_at=training.registration_opens_at,
        closes_at=training.registration_closes_at,
    )


def first_day_begins(starts_on: date, timezone: str) -> datetime:
    return datetime.combine(starts_on, datetime.min.time(), ZoneInfo(timezone))


def check_open(window: Window, now: datetime, *, by_staff: bool) -> None:
    if window.status != "published":
        raise Conflict(f"this training is {window.status}: registration is closed")
    if by_staff:
        return
    if window.opens_at is not None and now < window.opens_at:
        raise Conflict("registration for this training has not opened yet")
    if not window.is_open(now):
        raise Conflict("registration for this training has closed")


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


def waitlist_positions(waiting_in_arrival_order: Iterable[K]) -> dict[K, int]:
    return {key: number for number, key in enumerate(waiting_in_arrival_order, start=1)}


def normalise_email(email: str) -> str:
    return email.strip().lower()


# --- submissions and filters ---------------------------------------------------------------


def check_submission(data: Submission, today: date) -> None:
    """The rules that need no database: consent and a known country (naming the field)."""
    if not data.consent:
        raise Invalid("consent to the processing of your data is required", field="consent")
    try:
        category(data.country, today)
    except UnknownCountry:
        raise Invalid(f"{data.country!r} is not a known country code", field="country") from None
    if not data.name.strip():
        raise Invalid("name must not be blank", field="name")
    if not data.organisation.strip():
        raise Invalid("organisation must not be blank", field="organisation")


def parse_statuses(values: Iterable[str]) -> list[str]:
    """The statuses a list is filtered by; an unknown one is refused, naming `status`."""
    wanted = list(values)
    unknown = sorted(set(wanted) - set(STATUSES))
    if unknown:
        raise Invalid(
            f"unknown status {unknown[0]!r}; one of {', '.join(STATUSES)}", field="status"
        )
    return wanted


MESSAGE_LIMIT = 5000
SUBJECT_LIMIT = 200


def staff_message(text: str | None, field: str = "message") -> str | None:
    """The organisers' words for a participant's mail: None when blank, at most 5,000
    characters, line feeds only (a browser sends CR LF), no control characters."""
    cleaned = (text or "").replace("\r\n", "\n").strip()
    if len(cleaned) > MESSAGE_LIMIT:
        raise Invalid(f"{field} must be at most {MESSAGE_LIMIT} characters", field=field)
    if not is_text(cleaned):
        raise Invalid(f"{field} {REFUSED_TEXT}", field=field)
    return cleaned or None


def message_subject(text: str | None) -> str:
    """The subject line of a message to participants: one line, not blank."""
    cleaned = (text or "").strip()
    if not cleaned:
        raise Invalid("subject must not be blank", field="subject")
    if len(cleaned) > SUBJECT_LIMIT or not is_line(cleaned):
        raise Invalid(
            f"subject must be one line of at most {SUBJECT_LIMIT} characters", field="subject"
        )
    return cleaned


def check_quotas(quotas: Mapping[str, int]) -> dict[str, int]:
    """Quotas by upper-case country code; each code is the field of its own error."""
    checked: dict[str, int] = {}
    for code, maximum in quotas.items():
        if not is_country(code):
            raise Invalid(f"{code!r} is not a known country code", field=code)
        if not 0 <= maximum <= MAX_QUOTA:
            raise Invalid(f"the maximum for {code} must be 0 or more", field=code)
        checked[code.upper()] = maximum
    return checked


# --- transitions of one registration ----------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    """A registration's new status, why it waits, whether its seat is freed, and its event."""

    status: str
    waitlist_reason: str | None
    frees_seat: bool
    event: type[ev.RegistrationData]


def _ended(status: str, to: str) -> Transition:
    if status not in ACTIVE:
        raise Conflict(f"this registration is already {status}")
    return Transition(to, None, status == "confirmed", ev.REGISTRATION_STATUS_EVENTS[to])


def cancelled(status: str) -> Transition:
    """The participant or staff cancel an active registration; a held seat is freed."""
    return _ended(status, "cancelled")


def declined(status: str) -> Transition:
    """Organisers decline an active registration; a held seat is freed."""
    return _ended(status, "declined")


def approved(status: str, country: str, seats: Seats) -> Transition:
    """A pending registration gets a seat if one is left within its quota, else waits."""
    if status != "pending":
        raise Conflict(f"only a pending registration can be approved; this one is {status}")
    admission = seats.seat_or_wait(country)
    return Transition(
        admission.status,
        admission.reason,
        False,
        ev.REGISTRATION_STATUS_EVENTS[admission.status],
    )


def promoted() -> Transition:
    """A waitlisted registration gets a freed seat."""
    return Transition("confirmed", None, False, ev.RegistrationConfirmed)


def status_after(announced: str, outcome: str | None) -> str:
    """A training's status from a catalogue event: how it ended, once known, holds over any
    status an event carries (events arrive in any order)."""
    return outcome if outcome is not None else announced


def new_check_in_code() -> str:
    return "".join(secrets.choice(CHECK_IN_ALPHABET) for _ in range(CHECK_IN_CODE_LENGTH))


def typed_check_in_code(text: str) -> str | None:
    """The code as typed or scanned (any case, spaces or dashes), or None when it cannot
    be one."""
    code = "".join(text.split()).replace("-", "").upper()
    if len(code) != CHECK_IN_CODE_LENGTH or any(c not in CHECK_IN_ALPHABET for c in code):
        return None
    return code
