"""The sessions of each training, kept from scheduling's events, and the calendar a
confirmation mail carries: the training's events as scheduling's feeds have them (the same
builder, `shared.calendar`, so the same UIDs and SEQUENCE), to import with one click."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from services.registration.tables import SessionRow
from shared.calendar import Feed, build_feed, calendar_name, session_of
from shared.db import UnitOfWork
from shared.events import Envelope
from shared.events import contracts as ev
from shared.mail import Attachment
from shared.revisions import upsert_if_newer
from shared.settings import Settings

CALENDAR_FILE = "training.ics"


async def keep(uow: UnitOfWork, sessions: Iterable[ev.SessionData], occurred_at: datetime) -> None:
    """Hold each session as the event tells it, unless a later revision is held already."""
    for data in sessions:
        await upsert_if_newer(
            uow,
            SessionRow,
            data.id,
            data.revision,
            {
                "training_id": data.training_id,
                "title": data.title,
                "kind": data.kind,
                "starts_at": data.starts_at,
                "ends_at": data.ends_at,
                "room": data.room,
                "speakers": [
                    {"name": s.name, "organisation": s.organisation} for s in data.speakers
                ],
                "description": data.description,
                "status": data.status,
                "sequence": data.sequence,
                "revised_at": occurred_at,
            },
        )


async def session_changed(
    uow: UnitOfWork, settings: Settings, data: ev.SessionData, envelope: Envelope
) -> None:
    """Scheduled, updated or cancelled: the calendar of the next confirmation follows."""
    await keep(uow, [data], envelope.occurred_at)


async def calendars(
    uow: UnitOfWork, settings: Settings, trainings: Mapping[str, Any]
) -> dict[str, Attachment | None]:
    """The calendar attachment of each training (by id; its catalogue row, with id, title,
    city, venue, timezone, description and status), None for one without sessions yet."""
    if not trainings:
        return {}
    rows = await uow.session.exec(
        select(SessionRow)
        .where(col(SessionRow.training_id).in_(sorted(trainings)))
        .order_by(col(SessionRow.starts_at), col(SessionRow.id))
    )
    by_training: dict[str, list[SessionRow]] = {}
    for row in rows:
        by_training.setdefault(row.training_id, []).append(row)
    return {
        training_id: _attachment(settings, trainings[training_id], by_training.get(training_id))
        for training_id in trainings
    }


def _attachment(
    settings: Settings, training: Any, rows: list[SessionRow] | None
) -> Attachment | None:
    if not rows:
        return None
    page = f"{str(settings.public_url('scheduling')).rstrip('/')}/trainings/{training.id}/page"
    sessions = [
        session_of(
            row,
            training,
            status="cancelled" if training.status == "cancelled" else row.status,
            sequence=row.sequence,
            revised_at=row.revised_at,
            training_url=page,
        )
        for row in rows
    ]
    name = calendar_name(training.title, training.city)
    body = build_feed(Feed(name=name, sessions=sessions, method="PUBLISH"))
    return Attachment(CALENDAR_FILE, "text/calendar", body.decode(), {"method": "PUBLISH"})


HANDLERS = {
    ev.SessionScheduled.subject: session_changed,
    ev.SessionUpdated.subject: session_changed,
    ev.SessionCancelled.subject: session_changed,
}
