"""What scheduling tells the other services: training and session payloads built from rows."""

from __future__ import annotations

from typing import TypeVar

from services.scheduling import queries, views
from services.scheduling.tables import SeriesRow, SessionRow, TrainingRow
from shared.db import UnitOfWork
from shared.events import contracts as ev

S = TypeVar("S", bound=ev.SessionData)
T = TypeVar("T", bound=ev.TrainingData)


def session_data(row: SessionRow, timezone: str, event: type[S]) -> S:
    values = views.session_values(row, timezone)
    values["speakers"] = [ev.Speaker(**speaker) for speaker in row.speakers]
    return event(**values)


async def training_data(uow: UnitOfWork, training: TrainingRow, event: type[T]) -> T:
    series = await uow.session.get(SeriesRow, training.series)
    sessions = await queries.sessions_of(uow.session, training.id)
    return event(
        **views.training_values(training),
        series_title=series.title if series else None,
        sessions=[session_data(s, training.timezone, ev.SessionData) for s in sessions],
    )
