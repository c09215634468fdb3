"""Scheduling conflicts: sessions outside the training's dates, rooms and speakers booked twice."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
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
    found = [_outside(starts_on, ends_on, timezone, slot) for slot in own]
    conflicts = [c for c in found if c is not None]
    own_ids = {slot.id for slot in own}
    everything = sorted([*own, *others], key=lambda s: (s.starts_at, s.id))
    running: list[Slot] = []
    for slot in everything:
        running = [r for r in running if r.ends_at > slot.starts_at]
        for earlier in running:
            if earlier.id in own_ids or slot.id in own_ids:
                conflicts.extend(_clashes(earlier, slot))
        running.append(slot)
    return sorted(conflicts, key=lambda c: (c.kind, [s.starts_at for s in c.sessions], c.message))


def _outside(starts_on: date, ends_on: date, timezone: str, slot: Slot) -> Conflict | None:
    zone = ZoneInfo(timezone)
    first = datetime.combine(starts_on, time(0), zone)
    # A session may run until midnight at the end of the last day.
    after_last = datetime.combine(ends_on + timedelta(days=1), time(0), zone)
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
