"""A training's programme as registration keeps it (the sessions of scheduling's events), and
what changed in it that participants should hear about; pure, without I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

Session = Mapping[str, Any]


@dataclass(frozen=True)
class Item:
    """One session of the programme, its times in the training's zone."""

    id: str
    title: str
    kind: str
    starts_at: datetime
    ends_at: datetime
    room: str | None
    cancelled: bool


def _when(value: Any, zone: ZoneInfo) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(zone)


def items(sessions: Iterable[Session] | None, timezone: str) -> list[Item]:
    """The programme in time order, in the training's zone; cancelled sessions marked."""
    zone = ZoneInfo(timezone)
    listed = [
        Item(
            id=str(session["id"]),
            title=str(session["title"]),
            kind=str(session.get("kind", "")),
            starts_at=_when(session["starts_at"], zone),
            ends_at=_when(session["ends_at"], zone),
            room=session.get("room"),
            cancelled=session.get("status") == "cancelled",
        )
        for session in sessions or ()
    ]
    return sorted(listed, key=lambda item: (item.starts_at, item.title))


def zone_name(timezone: str, on: date) -> str:
    """The zone as a participant reads it: `Europe/Tallinn (EEST, UTC+03:00)`."""
    moment = datetime.combine(on, time(12), ZoneInfo(timezone))
    offset = moment.strftime("%z")
    return f"{timezone} ({moment.tzname()}, UTC{offset[:3]}:{offset[3:]})"


def merged(
    kept: Sequence[Session] | None, arriving: Iterable[Session]
) -> tuple[list[dict[str, Any]], list[tuple[Session | None, Session]]]:
    """The sessions after `arriving` (each kept only when its revision is newer than the
    one held), and the (before, after) pairs that were news."""
    by_id = {str(session["id"]): dict(session) for session in kept or ()}
    news: list[tuple[Session | None, Session]] = []
    for session in arriving:
        held = by_id.get(str(session["id"]))
        if held is not None and int(held.get("revision", 0)) >= int(session.get("revision", 0)):
            continue
        news.append((held, session))
        by_id[str(session["id"])] = dict(session)
    return list(by_id.values()), news


def session_changes(before: Session | None, after: Session) -> list[dict[str, Any]]:
    """What a participant should hear of one session's change: added, moved, room changed
    or cancelled (as JSON-ready records, times as ISO text)."""
    title = str(after["title"])
    base = {"session": str(after["id"]), "title": title}
    if after.get("status") == "cancelled":
        if before is not None and before.get("status") == "cancelled":
            return []
        return [{**base, "what": "cancelled", "before": str(after["starts_at"])}]
    if before is None:
        return [{**base, "what": "added", "after": str(after["starts_at"])}]
    found: list[dict[str, Any]] = []
    if _instant(before["starts_at"]) != _instant(after["starts_at"]) or _instant(
        before["ends_at"]
    ) != _instant(after["ends_at"]):
        found.append(
            {
                **base,
                "what": "moved",
                "before": str(before["starts_at"]),
                "after": str(after["starts_at"]),
            }
        )
    if (before.get("room") or None) != (after.get("room") or None):
        found.append(
            {**base, "what": "room", "before": before.get("room"), "after": after.get("room")}
        )
    return found


def _instant(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def venue_change(before: str, after: str) -> list[dict[str, Any]]:
    return [] if before == after else [{"what": "venue", "before": before, "after": after}]


def summary(changes: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A burst of changes as the participant should read it: one line per session and kind
    of change, from the first `before` to the last `after`; a change undone within the
    burst (a session moved and moved back) is left out, and a cancellation says it all."""
    lines: dict[tuple[str, str], dict[str, Any]] = {}
    cancelled = {change.get("session") for change in changes if change["what"] == "cancelled"}
    for change in changes:
        session = str(change.get("session", ""))
        if change["what"] != "cancelled" and session in cancelled:
            continue
        key = (str(change["what"]), session)
        if key in lines:
            lines[key] = {**lines[key], "after": change.get("after"), "title": change.get("title")}
        else:
            lines[key] = dict(change)
    return [
        line
        for line in lines.values()
        if line["what"] in ("cancelled", "added") or line.get("before") != line.get("after")
    ]
