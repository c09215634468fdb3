"""Scheduling rules: training lifecycle, sessions in the capital's wall-clock time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from shared.events.contracts import SESSION_KINDS as SESSION_KINDS
from shared.problems import Problem

EDITABLE = ("draft", "published")


def zone(name: str, field: str = "timezone") -> ZoneInfo:
    if name not in _zones():
        raise Problem(422, f"{name!r} is not an IANA time zone", field=field)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Problem(422, f"{name!r} is not an IANA time zone", field=field) from None


_ZONES: set[str] = set()


def _zones() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return _ZONES


# Trainings are planned within this century: a date far outside it is a typing error, and
# near year 1 or 9999 time-zone arithmetic and calendar building overflow.
EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)


def check_in_range(day: date, field: str) -> None:
    if not EARLIEST <= day <= LATEST:
        raise Problem(422, f"{field} must lie between {EARLIEST} and {LATEST}", field=field)


def to_utc(value: datetime, zone_name: str, field: str) -> datetime:
    """A naive time is wall-clock time in the training's zone; it must exist there."""
    check_in_range(value.date(), field)
    tz = ZoneInfo(zone_name)
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    local = value.replace(tzinfo=tz)
    # A wall-clock time skipped by a daylight-saving change does not survive a round trip.
    round_trip = local.astimezone(UTC).astimezone(tz)
    if round_trip.replace(tzinfo=None) != value:
        raise Problem(
            422,
            f"{value.isoformat()} does not exist in {zone_name} (daylight-saving change)",
            field=field,
        )
    return local.astimezone(UTC)


def in_zone(value: datetime, zone_name: str) -> datetime:
    return value.astimezone(ZoneInfo(zone_name))


def check_dates(starts_on: date, ends_on: date) -> None:
    check_in_range(starts_on, "starts_on")
    check_in_range(ends_on, "ends_on")
    if ends_on < starts_on:
        raise Problem(422, "ends_on is before starts_on", field="ends_on")
    if ends_on - starts_on > timedelta(days=31):
        raise Problem(422, "a training lasts at most 31 days", field="ends_on")


def check_window(opens: datetime | None, closes: datetime | None) -> None:
    if opens is not None and closes is not None and closes <= opens:
        raise Problem(
            422,
            "registration_closes_at is not after registration_opens_at",
            field="registration_closes_at",
        )


def check_session_times(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise Problem(422, "ends_at is not after starts_at", field="ends_at")
    if ends_at - starts_at > timedelta(days=7):
        raise Problem(422, "a session lasts at most 7 days", field="ends_at")


def check_editable(status: str) -> None:
    if status not in EDITABLE:
        raise Problem(409, f"a {status} training can no longer be changed", field="status")


def check_publishable(status: str, live_sessions: int) -> None:
    if status != "draft":
        raise Problem(409, f"only a draft can be published; this training is {status}")
    if live_sessions == 0:
        raise Problem(409, "a training needs at least one session before it is published")


def check_completable(status: str, starts_on: date, zone_name: str, now: datetime) -> None:
    if status != "published":
        raise Problem(409, f"only a published training can be completed; this one is {status}")
    first_day = datetime.combine(starts_on, datetime.min.time(), ZoneInfo(zone_name))
    if now < first_day:
        raise Problem(409, "a training cannot be completed before its first day has begun")


def check_cancellable(status: str) -> None:
    if status not in EDITABLE:
        raise Problem(409, f"a {status} training cannot be cancelled")


def check_session_changeable(status: str) -> None:
    if status == "cancelled":
        raise Problem(409, "a cancelled session cannot be changed", field="status")


def relocalised(value: datetime, old_zone: str, new_zone: str, field: str) -> datetime:
    """The same wall-clock time in another zone: a training's zone is corrected, not its hours."""
    wall = value.astimezone(ZoneInfo(old_zone)).replace(tzinfo=None)
    return to_utc(wall, new_zone, field)


# --- a training in a participant's personal feed ----------------------------

CONFIRMED = frozenset({"confirmed"})


class Listing(NamedTuple):
    """Whether a training's sessions are live in a participant's feed, and their SEQUENCE offset."""

    listed: bool
    offset: int


def listing_after(current: Listing | None, confirmed: bool) -> Listing | None:
    """A participant's listing once their registrations for the training changed.

    A training enters the feed on the first confirmation and never leaves it:
    when the participant is no longer confirmed its sessions stay, cancelled, so
    a subscribed calendar removes them. Each change between the two raises the
    offset by one, which raises every session's SEQUENCE in that feed (RFC 5546:
    a change of STATUS is significant), and never lowers it.
    """
    if current is None:
        return Listing(True, 0) if confirmed else None
    if current.listed == confirmed:
        return current
    return Listing(confirmed, current.offset + 1)


def personal_status(session_status: str, listed: bool) -> str:
    return session_status if listed else "cancelled"
