"""Builds iCalendar (RFC 5545) calendars of sessions: sessions in, bytes out. Scheduling's
feeds and registration's confirmation mail (its attachment) are built here alike, so a
session has the same UID wherever a participant gets it from.

One cohesive module, over 400 lines on purpose: escaping, folding, the events and the
VTIMEZONE rules derived from tzdb together make the feed's bytes, and splitting them
would spread one deterministic output over several files.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from icalendar.prop import vDuration, vUTCOffset

from shared.i18n import N_
from shared.structs import carried
from shared.training_sessions import SessionHead

__all__ = [
    "KIND_LABELS",
    "Feed",
    "FeedSession",
    "FeedSpeaker",
    "build_feed",
    "calendar_name",
    "feed_etag",
    "session_of",
    "session_uid",
]

PRODID = "-//Capitals//Training calendar//EN"

_STATUS = {"scheduled": "CONFIRMED", "cancelled": "CANCELLED"}

# Every kind of `shared.events.contracts.SESSION_KINDS`, as pages and calendars name it (a
# test checks).
# Every kind of `shared.events.contracts.SESSION_KINDS` as people read it (a test checks):
# English in calendars and on staff pages, translated with `_()` on the public pages.
KIND_LABELS = {
    "lecture": N_("Lecture"),
    "workshop": N_("Workshop"),
    "panel": N_("Panel"),
    "case_study": N_("Case study"),
    "exhibition": N_("Exhibition"),
    "networking": N_("Networking"),
    "break": N_("Break"),
}
# Kinds a timetable shows but calendars leave out: a coffee break or lunch as an event of
# its own clutters a participant's calendar and blocks time they may spend elsewhere
# (decision record 22).
NOT_IN_CALENDARS = frozenset({"break"})

# RFC 5545 3.1: 75 octets per physical line, excluding the CRLF; continuation
# lines spend one of them on the leading space.
_LINE_OCTETS = 75

# C0 controls other than tab and line breaks (line breaks are normalised
# first), DEL, C1 controls, and lone surrogates, which cannot be encoded.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_BLANKS = re.compile(r"\s+")

# A daily scan finds every transition except two that cancel out within one day,
# which tzdb has not had since zones adopted standard time.
_SCAN_STEP = timedelta(days=1)
_SECOND = timedelta(seconds=1)
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class FeedSpeaker:
    name: str
    organisation: str | None = None


class FeedSession(SessionHead, frozen=True, kw_only=True):
    timezone: str
    status: str
    sequence: int
    revised_at: datetime
    room: str | None = None
    speakers: tuple[FeedSpeaker, ...] = ()
    description: str | None = None
    training_title: str = ""
    venue: str = ""
    city: str = ""
    training_description: str | None = None
    training_url: str | None = None


@dataclass(frozen=True)
class Feed:
    name: str
    sessions: Sequence[FeedSession]
    refresh: timedelta = timedelta(hours=6)
    # None for a subscribed feed (RFC 7986 clients poll it); "PUBLISH" for a calendar sent
    # as a mail attachment (RFC 5546), which clients then import.
    method: str | None = None


# The fields of `FeedSession` read from the training, by the training's name for each; the
# others (bar those `session_of` is given) are the session's own.
_FROM_TRAINING = {
    "training_id": "id",
    "timezone": "timezone",
    "training_title": "title",
    "venue": "venue",
    "city": "city",
    "training_description": "description",
}


def session_of(
    session: Any,
    training: Any,
    *,
    status: str,
    sequence: int,
    revised_at: datetime,
    training_url: str,
) -> FeedSession:
    """A session as a calendar shows it, from a service's stored session (id, title, kind,
    starts_at, ends_at, room, speakers as dicts, description) and training (id, timezone,
    title, venue, city, description); what differs by calendar is given."""
    return carried(
        FeedSession,
        session,
        status=status,
        sequence=sequence,
        revised_at=revised_at,
        speakers=tuple(
            FeedSpeaker(name=s["name"], organisation=s.get("organisation"))
            for s in session.speakers
        ),
        training_url=training_url,
        **{field: getattr(training, name) for field, name in _FROM_TRAINING.items()},
    )


def calendar_name(title: str, city: str) -> str:
    """A training's calendar name: its title, with its capital in brackets unless the title
    names it already ("…, Tallinn", not "…, Tallinn (Tallinn)")."""
    if not city.strip() or city.strip().casefold() in title.casefold():
        return title
    return f"{title} ({city})"


def session_uid(session_id: str) -> str:
    """The UID of a session's event: stable across edits, and nothing but the id in it."""
    return f"session-{session_id}@capitals"


def feed_etag(body: bytes) -> str:
    """A strong ETag for a feed body."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def build_feed(feed: Feed) -> bytes:
    """Serialise a feed; the same feed gives the same bytes in any process."""
    if feed.refresh <= timedelta(0):
        raise ValueError("feed refresh interval must be positive")
    # Aware datetimes sharing a tzinfo compare by wall clock and ignore fold, so
    # order by the UTC instant explicitly.
    sessions = sorted(
        (s for s in feed.sessions if s.kind not in NOT_IN_CALENDARS),
        key=lambda s: (_aware(s, "starts_at").astimezone(UTC), s.id),
    )
    years: dict[str, tuple[int, int]] = {}
    events: list[bytes] = []
    for session in sessions:
        zone = _zone(session.timezone)
        start = _aware(session, "starts_at").astimezone(zone)
        end = _aware(session, "ends_at").astimezone(zone)
        if end < start:
            raise ValueError(f"session {session.id}: ends_at is before starts_at")
        first, last = years.get(session.timezone, (start.year, end.year))
        years[session.timezone] = (min(first, start.year), max(last, end.year))
        events.extend(_event(session, start, end))

    name = _text(_single_line(feed.name))
    refresh = vDuration(feed.refresh).to_ical().decode("ascii")
    head = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        *([f"METHOD:{_text(_single_line(feed.method))}"] if feed.method else []),
        f"NAME:{name}",
        f"X-WR-CALNAME:{name}",
        f"REFRESH-INTERVAL;VALUE=DURATION:{refresh}",
        f"X-PUBLISHED-TTL:{refresh}",
    ]
    if len(years) == 1:
        # Only meaningful for a single zone; with several it would mislead clients.
        head.append(f"X-WR-TIMEZONE:{next(iter(years))}")
    parts = [_fold(line) for line in head]
    parts.extend(_vtimezone(tzid, *years[tzid]) for tzid in sorted(years))
    parts.extend(events)
    parts.append(b"END:VCALENDAR\r\n")
    return b"\r\n".join(parts)


def _event(session: FeedSession, start: datetime, end: datetime) -> list[bytes]:
    try:
        status = _STATUS[session.status]
    except KeyError:
        raise ValueError(f"session {session.id}: unknown status {session.status!r}") from None
    if session.sequence < 0:
        raise ValueError(f"session {session.id}: sequence must not be negative")
    revised = _utc_stamp(session.revised_at)
    lines = [
        "BEGIN:VEVENT",
        f"UID:{_text(_single_line(session_uid(session.id)))}",
        f"DTSTAMP:{revised}",
        f"LAST-MODIFIED:{revised}",
        f"SEQUENCE:{session.sequence}",
        f"STATUS:{status}",
        "DTSTART" + _zoned(start, session.timezone),
    ]
    if end != start:
        lines.append("DTEND" + _zoned(end, session.timezone))
    lines.append(f"SUMMARY:{_text(_single_line(session.title))}")
    location = _location(session)
    if location:
        lines.append(f"LOCATION:{_text(location)}")
    description = _description(session)
    if description:
        lines.append(f"DESCRIPTION:{_text(description)}")
    kind = _single_line(KIND_LABELS.get(session.kind, session.kind))
    if kind:
        lines.append(f"CATEGORIES:{_text(kind)}")
    url = _public_url(session.training_url)
    if url:
        lines.append(f"URL:{url}")
    lines.append("END:VEVENT")
    return [_fold(line) for line in lines]


def _location(session: FeedSession) -> str:
    room = _single_line(session.room or "")
    venue = _single_line(session.venue)
    city = _single_line(session.city)
    parts = [room, venue]
    # Venue addresses usually end in the city already ("... 1050 Copenhagen").
    key = city.casefold()
    in_venue = any(
        seg == key or seg.endswith(" " + key)
        for seg in (s.strip() for s in venue.casefold().split(","))
    )
    if not in_venue:
        parts.append(city)
    seen: list[str] = []
    for part in parts:
        if part and part.casefold() not in (s.casefold() for s in seen):
            seen.append(part)
    return ", ".join(seen)


def _description(session: FeedSession) -> str:
    blocks: list[str] = []
    own = _multi_line(session.description or "")
    if own:
        blocks.append(own)
    speakers = [_speaker(s) for s in session.speakers]
    speakers = [s for s in speakers if s]
    if speakers:
        label = "Speaker:" if len(speakers) == 1 else "Speakers:"
        blocks.append("\n".join([label, *speakers]))
    title = _single_line(session.training_title)
    training = [
        line
        for line in (
            f"Training: {title}" if title else "",
            _multi_line(session.training_description or ""),
            _public_url(session.training_url),
        )
        if line
    ]
    if training:
        blocks.append("\n".join(training))
    return "\n\n".join(blocks)


def _speaker(speaker: FeedSpeaker) -> str:
    name = _single_line(speaker.name)
    organisation = _single_line(speaker.organisation or "")
    if name and organisation:
        return f"{name} ({organisation})"
    return name or organisation


def _public_url(url: str | None) -> str:
    """The URL if it is an absolute http(s) address that needs no escaping, else ''."""
    url = _CONTROL.sub("", url or "").strip()
    if not url or any(c.isspace() or c in '"<>\\' for c in url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return url if parts.scheme in ("http", "https") and parts.netloc else ""


def _clean(text: str) -> str:
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _single_line(text: str) -> str:
    return _BLANKS.sub(" ", _clean(text)).strip()


def _multi_line(text: str) -> str:
    lines = [line.rstrip() for line in _clean(text).strip().split("\n")]
    return "\n".join(lines)


def _text(text: str) -> str:
    # RFC 5545 3.3.11 by hand: icalendar's escaper also turns a literal "\N" in
    # the input into a line break, which would corrupt text such as "C:\Notes".
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> bytes:
    data = line.encode("utf-8")
    if len(data) <= _LINE_OCTETS:
        return data
    chunks: list[bytes] = []
    start = 0
    limit = _LINE_OCTETS
    while len(data) - start > limit:
        cut = start + limit
        while data[cut] & 0xC0 == 0x80:  # never split a UTF-8 sequence
            cut -= 1
        # Some clients choke on an escape split across lines (icalendar#1501):
        # an odd run of backslashes before the cut means the last one opens an escape.
        i = cut - 1
        while i >= 0 and data[i] == 0x5C:
            i -= 1
        if (cut - 1 - i) % 2:
            cut -= 1
        chunks.append(data[start:cut])
        start = cut
        limit = _LINE_OCTETS - 1
    chunks.append(data[start:])
    return b"\r\n ".join(chunks)


def _aware(session: FeedSession, field: str) -> datetime:
    value: datetime = getattr(session, field)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"session {session.id}: {field} must be offset-aware")
    return value


@lru_cache(maxsize=64)
def _zone(tzid: str) -> ZoneInfo:
    return ZoneInfo(tzid)


def _utc_stamp(value: datetime) -> str:
    # revised_at is defined as UTC, so a naive value can only mean UTC.
    utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return _stamp(utc) + "Z"


def _stamp(value: datetime) -> str:
    return (
        f"{value.year:04d}{value.month:02d}{value.day:02d}"
        f"T{value.hour:02d}{value.minute:02d}{value.second:02d}"
    )


def _zoned(local: datetime, tzid: str) -> str:
    """';TZID=zone:wall-clock' for a local time, or ':...Z' for the repeated hour."""
    if local.fold and local.replace(fold=0).utcoffset() != local.utcoffset():
        # RFC 5545 3.3.5 resolves a repeated wall-clock time to its first
        # occurrence, so the second one can only be written in UTC.
        return ":" + _stamp(local.astimezone(UTC)) + "Z"
    return f";TZID={tzid}:{_stamp(local)}"


# --- VTIMEZONE -------------------------------------------------------------


class _Observance(NamedTuple):
    offset: timedelta
    dst: bool
    name: str


@dataclass(frozen=True)
class _Transition:
    at: datetime  # UTC instant
    before: _Observance
    after: _Observance

    @property
    def onset(self) -> datetime:
        """Wall-clock time of the change, in the offset before it (RFC 5545 DTSTART)."""
        return (self.at + self.before.offset).replace(tzinfo=None)

    @property
    def rule_key(self) -> tuple[object, ...]:
        onset = self.onset
        return (self.before, self.after, onset.month, onset.weekday(), onset.time())

    @property
    def bydays(self) -> frozenset[int]:
        """The ways to name this day as the nth weekday of its month (-1: the last)."""
        onset = self.onset
        nth = {(onset.day - 1) // 7 + 1}
        if onset.day + 7 > _days_in_month(onset.year, onset.month):
            nth.add(-1)
        return frozenset(nth)


@dataclass
class _Run:
    """Consecutive years in which a zone changes the same way on the same nth weekday."""

    transitions: list[_Transition]
    bydays: frozenset[int]


def _days_in_month(year: int, month: int) -> int:
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return (following - date(year, month, 1)).days


def _observance(zone: ZoneInfo, instant: datetime) -> _Observance:
    local = instant.astimezone(zone)
    return _Observance(local.utcoffset() or timedelta(0), bool(local.dst()), local.tzname() or "")


def _transitions(zone: ZoneInfo, start: datetime, end: datetime) -> list[_Transition]:
    found: list[_Transition] = []
    at, current = start, _observance(zone, start)
    while at < end:
        step = min(at + _SCAN_STEP, end)
        observed = _observance(zone, step)
        if observed == current:
            at = step
            continue
        low, high = at, step
        while high - low > _SECOND:
            middle = low + _SECOND * ((high - low) // _SECOND // 2)
            if _observance(zone, middle) == current:
                low = middle
            else:
                high = middle
        after = _observance(zone, high)
        found.append(_Transition(high, current, after))
        at, current = high, after
    return found


@lru_cache(maxsize=256)
def _vtimezone(tzid: str, first_year: int, last_year: int) -> bytes:
    """A VTIMEZONE valid from 1 January of first_year to the end of last_year.

    Yearly changes are RRULEs (BYMONTH + nth BYDAY) because Outlook ignores
    RDATE ([MS-STANOICAL] 2.2.47); a rule that stops inside the window gets an
    UNTIL, and a change that does not repeat gets a plain DTSTART.
    """
    zone = _zone(tzid)
    window_start = datetime(first_year, 1, 1, tzinfo=zone).astimezone(UTC)
    window_end = datetime(last_year + 1, 1, 1, tzinfo=zone).astimezone(UTC)
    scanned = _transitions(zone, datetime(first_year - 1, 1, 1, tzinfo=UTC), window_end)
    earlier = [t for t in scanned if t.at <= window_start]
    # The last change before the window sets the offset in force on 1 January.
    kept = earlier[-1:] + [t for t in scanned if t.at > window_start]

    components: list[tuple[datetime, list[str]]] = []
    if not earlier:
        initial = _observance(zone, window_start)
        onset = (window_start + initial.offset).replace(tzinfo=None)
        components.append((onset, _observance_lines(initial, initial, onset, None)))

    dst_years = {(t.onset.year, t.after.dst) for t in kept if t.before.dst != t.after.dst}
    for run in _runs(kept):
        first, final = run.transitions[0], run.transitions[-1]
        year = final.onset.year
        # A lone daylight-saving change in the final year is still a yearly rule:
        # a one-year feed must give Outlook RRULEs too.
        repeats = len(run.transitions) > 1 or (
            year == last_year
            and first.before.dst != first.after.dst
            and (year, True) in dst_years
            and (year, False) in dst_years
        )
        rrule = None
        if repeats:
            nth = -1 if -1 in run.bydays else min(run.bydays)
            weekday = _WEEKDAYS[first.onset.weekday()]
            rrule = f"FREQ=YEARLY;BYMONTH={first.onset.month};BYDAY={nth}{weekday}"
            if year < last_year:
                # RFC 5545 wants UNTIL in UTC, but some readers (icalendar's
                # to_tz) compare it with the floating onset: the later of the two
                # readings keeps the last change for both, and the next is a year off.
                until = max(final.at, final.onset.replace(tzinfo=UTC))
                rrule += f";UNTIL={_stamp(until)}Z"
        components.append(
            (first.onset, _observance_lines(first.before, first.after, first.onset, rrule))
        )

    lines = ["BEGIN:VTIMEZONE", f"TZID:{tzid}"]
    for _, component in sorted(components, key=lambda c: c[0]):
        lines.extend(component)
    lines.append("END:VTIMEZONE")
    return b"\r\n".join(_fold(line) for line in lines)


def _runs(transitions: list[_Transition]) -> list[_Run]:
    runs: list[_Run] = []
    open_runs: dict[tuple[object, ...], _Run] = {}
    for transition in transitions:
        key = transition.rule_key
        run = open_runs.get(key)
        bydays = run.bydays & transition.bydays if run else frozenset()
        if run and bydays and transition.onset.year == run.transitions[-1].onset.year + 1:
            run.transitions.append(transition)
            run.bydays = bydays
        else:
            run = _Run([transition], transition.bydays)
            open_runs[key] = run
            runs.append(run)
    return runs


def _observance_lines(
    before: _Observance, after: _Observance, onset: datetime, rrule: str | None
) -> list[str]:
    kind = "DAYLIGHT" if after.dst else "STANDARD"
    lines = [
        f"BEGIN:{kind}",
        f"DTSTART:{_stamp(onset)}",
        f"TZOFFSETFROM:{vUTCOffset(before.offset).to_ical()}",
        f"TZOFFSETTO:{vUTCOffset(after.offset).to_ical()}",
    ]
    if rrule:
        lines.append(f"RRULE:{rrule}")
    if after.name:
        lines.append(f"TZNAME:{_text(after.name)}")
    lines.append(f"END:{kind}")
    return lines
