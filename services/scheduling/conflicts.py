"""Scheduling conflicts: sessions outside the training's dates, rooms and speakers booked twice."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

OUTSIDE_DATES = "outside_dates"
ROOM = "room"
SPEAKER = "speaker"
# Only clashes of people and rooms stop a publication. A session outside the dates is
# refused when written (issue 10); one stored before that rule is still reported.
BLOCKING = frozenset({ROOM, SPEAKER})


@dataclass(frozen=True)
class Slot:
    """A live session as the conflict rules see it; times are UTC."""

    id: str
    training_id: str
    training_title: str
    timezone: str
    title: str
    starts_at: datetime
    ends_at: datetime
    room: str | None
    speakers: tuple[str, ...]
    # Where its training is held: a room name only means the same room in the same place.
    place: str
    host_country: str = ""


@dataclass(frozen=True)
class Conflict:
    kind: str
    sessions: tuple[Slot, ...]
    message: str

    @property
    def blocking(self) -> bool:
        return self.kind in BLOCKING


@lru_cache(maxsize=4096)
def normalised(text: str) -> str:
    """A name as compared: no accents, case, punctuation or extra spaces.

    "Jüri  Tamm." and "juri tamm" are one person to the conflict rules.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    letters = "".join(
        " " if unicodedata.category(c).startswith(("P", "Z")) else c
        for c in decomposed
        if not unicodedata.combining(c)
    )
    return " ".join(letters.casefold().split())


def place(city: str, venue: str) -> str:
    return f"{normalised(city)}|{normalised(venue)}"


def find(
    starts_on: date,
    ends_on: date,
    timezone: str,
    own: Sequence[Slot],
    others: Iterable[Slot] = (),
) -> list[Conflict]:
    """Every conflict that involves one of `own` (a training's live sessions).

    `others` are live sessions of other trainings around the same time; clashes
    among them alone are theirs to report, not this training's.
    """
    return find_each({"": (starts_on, ends_on, timezone)}, {"": own}, others)[""]


def find_each(
    trainings: Mapping[str, tuple[date, date, str]],
    own: Mapping[str, Sequence[Slot]],
    others: Iterable[Slot] = (),
) -> dict[str, list[Conflict]]:
    """`find` for several trainings at once (key: their dates and zone; `own`: their live
    sessions), in one pass over all the sessions rather than one per training."""
    found: dict[str, list[Conflict]] = {key: [] for key in trainings}
    owner: dict[str, str] = {}
    for key, slots in own.items():
        for slot in slots:
            owner[slot.id] = key
            outside = _outside(*trainings[key], slot)
            if outside is not None:
                found[key].append(outside)
    unique = {slot.id: slot for slot in others}
    unique.update((slot.id, slot) for slots in own.values() for slot in slots)
    everything = sorted(unique.values(), key=lambda s: (s.starts_at, s.id))
    running: list[Slot] = []
    for slot in everything:
        running = [r for r in running if r.ends_at > slot.starts_at]
        for earlier in running:
            keys = {owner[s.id] for s in (earlier, slot) if s.id in owner}
            if keys:
                clashes = _clashes(earlier, slot)
                for key in keys:
                    found[key].extend(clashes)
        running.append(slot)
    return {
        key: sorted(conflicts, key=lambda c: (c.kind, [s.starts_at for s in c.sessions], c.message))
        for key, conflicts in found.items()
    }


@lru_cache(maxsize=1024)
def _bounds(starts_on: date, ends_on: date, timezone: str) -> tuple[datetime, datetime]:
    """The first moment of a training's first day and the midnight after its last."""
    zone = ZoneInfo(timezone)
    first = datetime.combine(starts_on, time(0), zone)
    # A session may run until midnight at the end of the last day.
    return first, datetime.combine(ends_on + timedelta(days=1), time(0), zone)


def _outside(starts_on: date, ends_on: date, timezone: str, slot: Slot) -> Conflict | None:
    first, after_last = _bounds(starts_on, ends_on, timezone)
    if slot.starts_at >= first and slot.ends_at <= after_last:
        return None
    return Conflict(
        OUTSIDE_DATES,
        (slot,),
        f"{_named(slot)} ({_when(slot)}) is outside the training's dates "
        f"({_days(starts_on, ends_on)}, {timezone})",
    )


def _clashes(a: Slot, b: Slot) -> list[Conflict]:
    found = []
    same_place = a.training_id == b.training_id or a.place == b.place
    if same_place and a.room and b.room and normalised(a.room) == normalised(b.room):
        found.append(
            Conflict(
                ROOM,
                (a, b),
                f"room {a.room!r} is booked twice: {_described(a, b)} and {_described(b, a)}",
            )
        )
    names = {normalised(name): name for name in a.speakers}
    for name in b.speakers:
        key = normalised(name)
        if key and key in names:
            found.append(
                Conflict(
                    SPEAKER,
                    (a, b),
                    f"{names[key]} is in two places at once: "
                    f"{_described(a, b)} and {_described(b, a)}",
                )
            )
    return found


def _named(slot: Slot) -> str:
    return f"session {slot.title!r}"


def _described(slot: Slot, other: Slot) -> str:
    where = "" if slot.training_id == other.training_id else f" of {slot.training_title!r}"
    return f"{_named(slot)}{where} ({_when(slot)})"


def _when(slot: Slot) -> str:
    zone = ZoneInfo(slot.timezone)
    start = slot.starts_at.astimezone(zone)
    end = slot.ends_at.astimezone(zone)
    until = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%Y-%m-%d %H:%M}"
    return f"{start:%Y-%m-%d %H:%M} to {until} {start.tzname()}"


def _days(starts_on: date, ends_on: date) -> str:
    if starts_on == ends_on:
        return starts_on.isoformat()
    return f"{starts_on.isoformat()} to {ends_on.isoformat()}"
