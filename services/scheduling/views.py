"""What the API and the pages show of rows: one session view, trainings, series, conflicts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlmodel.ext.asyncio.session import AsyncSession

from services.scheduling import conflicts, domain, links, queries
from services.scheduling.schemas import (
    ChangeOut,
    ConflictOut,
    SeriesOut,
    SessionOut,
    SessionWritten,
    SpeakerOut,
    TrainingOut,
)
from services.scheduling.tables import ChangeRow, SeriesRow, SessionRow, TrainingRow
from shared.events import contracts as ev
from shared.settings import Settings
from shared.staff import Staff
from shared.structs import carried

# What the change log keeps of a new session.
LOGGED_SESSION_FIELDS = (
    "title",
    "kind",
    "starts_at",
    "ends_at",
    "room",
    "speakers",
    "description",
    "status",
)

# A training's own fields, which the API and the events both show (its sessions apart).
TRAINING_FIELDS = tuple(
    name
    for name in TrainingOut.__struct_fields__
    if name in ev.TrainingData.__struct_fields__ and name != "sessions"
)


def local(value: datetime | None, timezone: str) -> datetime | None:
    return None if value is None else domain.in_zone(value, timezone)


def session_values(row: SessionRow, timezone: str) -> dict[str, Any]:
    """The one view of a session: `SessionOut`, `SessionData` and the change log build on it.

    Times are in the training's zone; speakers stay as stored (name, organisation)."""
    return {
        "id": row.id,
        "revision": row.revision,
        "training_id": row.training_id,
        "title": row.title,
        "kind": row.kind,
        "starts_at": domain.in_zone(row.starts_at, timezone),
        "ends_at": domain.in_zone(row.ends_at, timezone),
        "room": row.room,
        "speakers": row.speakers,
        "status": row.status,
        "sequence": row.sequence,
        "description": row.description,
    }


def logged_session(row: SessionRow, timezone: str) -> dict[str, Any]:
    values = session_values(row, timezone)
    return {name: values[name] for name in LOGGED_SESSION_FIELDS}


def _session_fields(row: SessionRow, timezone: str) -> dict[str, Any]:
    values = session_values(row, timezone)
    values["speakers"] = [SpeakerOut(**s) for s in row.speakers]
    return values


def session_out(row: SessionRow, timezone: str) -> SessionOut:
    return SessionOut(**_session_fields(row, timezone))


def shown(values: dict[str, Any], timezone: str) -> dict[str, Any]:
    """Values as the change log keeps them: JSON, times in the training's zone."""
    in_zone = {
        name: domain.in_zone(value, timezone) if isinstance(value, datetime) else value
        for name, value in values.items()
    }
    kept: dict[str, Any] = msgspec.to_builtins(in_zone)
    return kept


def training_values(training: TrainingRow) -> dict[str, Any]:
    """The one view of a training's own fields: `TrainingOut` and `TrainingData` build on it.

    Times are in the training's zone."""
    values = {name: getattr(training, name) for name in TRAINING_FIELDS}
    for name in domain.MOMENTS:
        values[name] = local(values[name], training.timezone)
    return values


def training_out(
    settings: Settings, training: TrainingRow, sessions: list[SessionRow]
) -> TrainingOut:
    calendar = links.training_calendar_url(settings, training.id)
    return TrainingOut(
        **training_values(training),
        sessions=[session_out(s, training.timezone) for s in sessions],
        calendar_url=calendar,
        webcal_url=links.webcal(calendar),
        page_url=links.training_page_url(settings, training.id),
        register_url=links.register_url(settings, training.id),
    )


async def training_view(reading: AsyncSession, settings: Settings, training_id: str) -> TrainingOut:
    training = await queries.training(reading, training_id)
    return training_out(settings, training, await queries.sessions_of(reading, training_id))


def series_out(settings: Settings, series: SeriesRow) -> SeriesOut:
    calendar = links.series_calendar_url(settings, series.slug)
    return SeriesOut(
        slug=series.slug,
        title=series.title,
        calendar_url=calendar,
        webcal_url=links.webcal(calendar),
        page_url=links.series_page_url(settings, series.slug),
    )


def conflict_out(clash: conflicts.Conflict) -> ConflictOut:
    return msgspec.convert(domain.conflict_values(clash), ConflictOut)


async def session_view(reading: AsyncSession, training_id: str, session_id: str) -> SessionOut:
    training = await queries.training(reading, training_id)
    session = await queries.session_of(reading, training_id, session_id)
    return session_out(session, training.timezone)


async def session_written(
    reading: AsyncSession, training_id: str, session_id: str, who: Staff | None
) -> SessionWritten:
    """A session just added or changed, with the conflicts it is now part of."""
    training = await queries.training(reading, training_id)
    session = await queries.session_of(reading, training_id, session_id)
    found = queries.involving(await queries.conflicts_of(reading, training, who), session_id)
    return SessionWritten(
        **_session_fields(session, training.timezone),
        conflicts=[conflict_out(c) for c in found],
    )


def change_out(row: ChangeRow) -> ChangeOut:
    return carried(ChangeOut, row, id=row.id or 0)
