"""The calendar a confirmation mail carries: the training's programme (the sessions kept on
its catalogue row from scheduling's events, `programme.merged`) built by the same builder as
scheduling's feeds (`shared.calendar`), so the same UIDs and SEQUENCE, to import with one
click."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from shared.calendar import Feed, build_feed, calendar_name, session_of
from shared.mail import Attachment
from shared.settings import Settings

CALENDAR_FILE = "training.ics"


def _moment(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _stored(session: Mapping[str, Any]) -> SimpleNamespace:
    """A kept session (as the event's JSON) with its moments read back."""
    return SimpleNamespace(
        **{
            **session,
            "starts_at": _moment(session["starts_at"]),
            "ends_at": _moment(session["ends_at"]),
            "speakers": session.get("speakers") or [],
            "description": session.get("description"),
        }
    )


def calendar_of(settings: Settings, training: Any) -> Attachment | None:
    """The calendar attachment of a training (its catalogue row: id, title, city, venue,
    timezone, description, status, sessions); None for one without sessions yet."""
    kept = [_stored(session) for session in training.sessions or ()]
    if not kept:
        return None
    page = f"{str(settings.public_url('scheduling')).rstrip('/')}/trainings/{training.id}/page"
    cancelled = training.status == "cancelled"
    feed_sessions = [
        session_of(
            session,
            training,
            status="cancelled" if cancelled else session.status,
            sequence=int(getattr(session, "sequence", 0)),
            # When the event that last changed it occurred: the calendar's DTSTAMP.
            revised_at=_moment(getattr(session, "revised_at", None) or session.starts_at),
            training_url=page,
        )
        for session in sorted(kept, key=lambda s: (s.starts_at, s.id))
    ]
    name = calendar_name(training.title, training.city)
    body = build_feed(Feed(name=name, sessions=feed_sessions, method="PUBLISH"))
    return Attachment(CALENDAR_FILE, "text/calendar", body.decode(), {"method": "PUBLISH"})
