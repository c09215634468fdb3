"""Scheduling rules: training lifecycle, sessions in the capital's wall-clock time.

Pure: no web framework and no database. A refusal is a `shared.errors` error naming the
field; a lifecycle transition returns the new status and the change-log entry, and the
command applies it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import msgspec

from services.scheduling.conflicts import Conflict as Clash
from shared.countries import UnknownCountry, country
from shared.errors import Conflict, Invalid
from shared.events.contracts import SESSION_KINDS as SESSION_KINDS
from shared.staff import Staff

EDITABLE = ("draft", "published")
# Drafts never appear in a feed or on a public page; a cancelled training stays, its
# sessions cancelled.
LISTED = ("published", "completed", "cancelled")
# The registration window, in the order a training names it.
WINDOW = ("registration_opens_at", "registration_closes_at")
# Every moment a training names, wall-clock in its zone on the way in, UTC when stored.
MOMENTS = (*WINDOW, "nominations_close_at")
# Fields every session's calendar event repeats (summary context, location, description).
FEED_FIELDS = frozenset({"title", "venue", "city", "description", "timezone"})
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")


def zone(name: str, field: str = "timezone") -> ZoneInfo:
    if name not in _zones():
        raise Invalid(f"{name!r} is not an IANA time zone", field=field)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"{name!r} is not an IANA time zone", field=field) from None


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
        raise Invalid(f"{field} must lie between {EARLIEST} and {LATEST}", field=field)


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
        raise Invalid(
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
        raise Invalid("ends_on is before starts_on", field="ends_on")
    if ends_on - starts_on > timedelta(days=31):
        raise Invalid("a training lasts at most 31 days", field="ends_on")


def check_window(opens: datetime | None, closes: datetime | None) -> None:
    if opens is not None and closes is not None and closes <= opens:
        raise Invalid(
            "registration_closes_at is not after registration_opens_at",
            field="registration_closes_at",
        )


def check_session_times(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise Invalid("ends_at is not after starts_at", field="ends_at")
    if ends_at - starts_at > timedelta(days=7):
        raise Invalid("a session lasts at most 7 days", field="ends_at")


def days_bounds(starts_on: date, ends_on: date, zone_name: str) -> tuple[datetime, datetime]:
    """The training's first midnight and the midnight after its last day, in its zone."""
    zone = ZoneInfo(zone_name)
    first = datetime.combine(starts_on, time(0), zone)
    return first, datetime.combine(ends_on + timedelta(days=1), time(0), zone)


def check_session_within(
    starts_on: date, ends_on: date, zone_name: str, starts_at: datetime, ends_at: datetime
) -> None:
    """A session lies within the training's days (it may run until the last midnight)."""
    first, after_last = days_bounds(starts_on, ends_on, zone_name)
    days = f"{starts_on} to {ends_on}, {zone_name}"
    if not first <= starts_at < after_last:
        raise Invalid(f"starts_at lies outside the training's dates ({days})", field="starts_at")
    if ends_at > after_last:
        raise Invalid(f"ends_at lies past the training's last day ({days})", field="ends_at")


class Timing(NamedTuple):
    """A live session's id, title and times (UTC), as the date rules see it."""

    id: str
    title: str
    starts_at: datetime
    ends_at: datetime


def retimed(value: datetime, old_zone: str, new_zone: str, days: int) -> datetime:
    """The same wall-clock time `days` later, read in `new_zone` (a zone corrected, dates moved)."""
    wall = value.astimezone(ZoneInfo(old_zone)).replace(tzinfo=None) + timedelta(days=days)
    return to_utc(wall, new_zone, "starts_on" if days else "timezone")


def check_timetable_fits(
    starts_on: date, ends_on: date, zone_name: str, timings: Sequence[Timing]
) -> None:
    """New dates must keep every live session within them, or 409 listing those outside."""
    first, after_last = days_bounds(starts_on, ends_on, zone_name)
    outside = [t for t in timings if t.starts_at < first or t.ends_at > after_last]
    if outside:
        raise Conflict(
            f"{len(outside)} session(s) would fall outside {starts_on} to {ends_on}: "
            + ", ".join(repr(t.title) for t in outside)
            + ". Move them first, or send shift_sessions=true to move the timetable along.",
            field="starts_on",
            sessions=[
                {"id": t.id, "title": t.title, "starts_at": in_zone(t.starts_at, zone_name)}
                for t in outside
            ],
        )


def check_editable(status: str) -> None:
    if status not in EDITABLE:
        raise Conflict(f"a {status} training can no longer be changed", field="status")


def check_publishable(status: str, live_sessions: int) -> None:
    if status != "draft":
        raise Conflict(f"only a draft can be published; this training is {status}")
    if live_sessions == 0:
        raise Conflict("a training needs at least one session before it is published")


def check_completable(status: str, starts_on: date, zone_name: str, now: datetime) -> None:
    if status != "published":
        raise Conflict(f"only a published training can be completed; this one is {status}")
    first_day = datetime.combine(starts_on, datetime.min.time(), ZoneInfo(zone_name))
    if now < first_day:
        raise Conflict("a training cannot be completed before its first day has begun")


def check_cancellable(status: str) -> None:
    if status not in EDITABLE:
        raise Conflict(f"a {status} training cannot be cancelled")


def check_session_changeable(status: str) -> None:
    if status == "cancelled":
        raise Conflict("a cancelled session cannot be changed", field="status")


def relocalised(value: datetime, old_zone: str, new_zone: str, field: str) -> datetime:
    """The same wall-clock time in another zone: a training's zone is corrected, not its hours."""
    wall = value.astimezone(ZoneInfo(old_zone)).replace(tzinfo=None)
    return to_utc(wall, new_zone, field)


def window_utc(value: datetime | None, zone_name: str, field: str) -> datetime | None:
    """A registration window's end in UTC (None stays None)."""
    return None if value is None else to_utc(value, zone_name, field)


def host(code: str) -> tuple[str, str | None, str | None]:
    """The host country's code, its capital and the capital's zone (None where unknown)."""
    try:
        place = country(code)
    except UnknownCountry:
        raise Invalid(f"{code!r} is not an ISO 3166-1 country code", field="host_country") from None
    return place.code, place.capital, place.timezone


def place(code: str, city: str | None, timezone: str | None) -> tuple[str, str]:
    """A new training's city and zone: given, or the capital's (some countries need both)."""
    if not city:
        raise Invalid(f"no capital known for {code}: give a city", field="city")
    if not timezone:
        raise Invalid(f"{code} spans several time zones: give a timezone", field="timezone")
    zone(timezone)
    return city, timezone


def moments(training: Any, zone_name: str) -> list[datetime | None]:
    """A new training's registration window and nomination deadline (`MOMENTS`) in UTC."""
    found = [window_utc(getattr(training, name), zone_name, name) for name in MOMENTS]
    check_window(found[0], found[1])
    return found


def training_changes(current: Mapping[str, Any], provided: Mapping[str, Any]) -> dict[str, Any]:
    """What a patch changes in a training, times in UTC, after checking the result.

    A new zone keeps the registration window's wall-clock times: the organiser corrects
    the zone, not the hours."""
    provided = dict(provided)
    old_zone = current["timezone"]
    new_zone = provided.get("timezone", old_zone)
    zone(new_zone)
    for name in MOMENTS:
        if name in provided:
            provided[name] = window_utc(provided[name], new_zone, name)
        elif new_zone != old_zone and current.get(name) is not None:
            provided[name] = relocalised(current[name], old_zone, new_zone, name)
    changes = {name: value for name, value in provided.items() if value != current[name]}
    if changes:
        after = {**current, **changes}
        check_dates(after["starts_on"], after["ends_on"])
        check_window(after[WINDOW[0]], after[WINDOW[1]])
    return changes


def session_changes(
    current: Mapping[str, Any], provided: Mapping[str, Any], zone_name: str
) -> dict[str, Any]:
    """What a patch changes in a session, times in UTC, after checking the result."""
    provided = dict(provided)
    for name in ("starts_at", "ends_at"):
        if name in provided:
            provided[name] = to_utc(provided[name], zone_name, name)
    if "speakers" in provided:
        provided["speakers"] = [msgspec.to_builtins(s) for s in provided["speakers"]]
    changes = {name: value for name, value in provided.items() if value != current[name]}
    if changes:
        after = {**current, **changes}
        check_session_times(after["starts_at"], after["ends_at"])
    return changes


def check_slug(slug: str) -> None:
    if not SLUG.fullmatch(slug):
        raise Invalid("a series slug is lower-case letters, digits and '-'", field="slug")


def visible_to(status: str, host_country: str, who: Staff | None) -> bool:
    """Drafts are seen only by staff who manage the host country; the rest by everyone."""
    if status != "draft":
        return True
    return who is not None and who.may_manage(host_country)


# --- lifecycle transitions ----------------------------------------------------


@dataclass(frozen=True)
class Change:
    """A transition's outcome: the new status, and the change log's entry for it."""

    status: str
    what: str
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)


def conflict_values(clash: Clash) -> dict[str, Any]:
    """A conflict as the API shows it, times in each session's own zone."""
    return {
        "kind": clash.kind,
        "blocking": clash.blocking,
        "message": clash.message,
        "sessions": [
            {
                "id": slot.id,
                "training_id": slot.training_id,
                "title": slot.title,
                "starts_at": in_zone(slot.starts_at, slot.timezone),
                "ends_at": in_zone(slot.ends_at, slot.timezone),
            }
            for slot in clash.sessions
        ],
    }


def published(
    status: str, live_sessions: int, blocking: Sequence[Clash], *, override: bool
) -> Change:
    """Publish a draft; room or speaker clashes need the organiser's explicit override."""
    check_publishable(status, live_sessions)
    if blocking and not override:
        raise Conflict(
            f"{len(blocking)} room or speaker conflict(s): "
            + "; ".join(c.message for c in blocking)
            + ". Resolve them, or publish with override_conflicts=true.",
            field="override_conflicts",
            conflicts=[conflict_values(c) for c in blocking],
        )
    after: dict[str, Any] = {"status": "published"}
    if blocking:
        after["overridden_conflicts"] = [c.message for c in blocking]
    return Change("published", "training.published", {"status": "draft"}, after)


def completed(status: str, starts_on: date, zone_name: str, now: datetime) -> Change:
    check_completable(status, starts_on, zone_name, now)
    return Change(
        "completed", "training.completed", {"status": "published"}, {"status": "completed"}
    )


def cancelled(status: str, reason: str | None) -> Change:
    """Cancel a draft or published training (its sessions follow, see `SESSION_CANCELLED`)."""
    check_cancellable(status)
    return Change(
        "cancelled",
        "training.cancelled",
        {"status": status},
        {"status": "cancelled", "reason": reason},
    )


SESSION_CANCELLED = Change(
    "cancelled", "session.cancelled", {"status": "scheduled"}, {"status": "cancelled"}
)


def session_cancelled(training_status: str, session_status: str) -> Change | None:
    """Cancel one session of an editable training; None when it already is."""
    check_editable(training_status)
    if session_status == "cancelled":
        return None
    return SESSION_CANCELLED


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
