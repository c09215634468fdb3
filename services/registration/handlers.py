"""How registration follows scheduling: the catalogue, capacity changes and cancellations."""

from __future__ import annotations

from functools import partial
from typing import Any

from services.registration import commands
from services.registration.tables import TrainingRow
from shared.bus import Handler
from shared.db import UnitOfWork
from shared.events import Envelope
from shared.events import contracts as ev
from shared.settings import Settings

# The training fields registration keeps, as named in the event.
CATALOGUE_FIELDS = (
    "series",
    "title",
    "host_country",
    "city",
    "venue",
    "timezone",
    "starts_on",
    "ends_on",
    "capacity",
    "registration_opens_at",
    "registration_closes_at",
    "moderated",
    "language",
    "description",
    "status",
)


async def training_changed(
    settings: Settings, uow: UnitOfWork, data: ev.TrainingData, _: Envelope
) -> None:
    """Published or updated: the catalogue follows; a raised capacity promotes at once."""
    row = await uow.session.get(TrainingRow, data.id, with_for_update=True)
    if row is not None and row.revision >= data.revision:
        return
    if row is None:
        row = TrainingRow(id=data.id, revision=data.revision, taken=0, **_fields(data))
        capacity_before = data.capacity
    else:
        capacity_before = row.capacity
        for name, value in _fields(data).items():
            setattr(row, name, value)
        row.revision = data.revision
    uow.session.add(row)
    await uow.session.flush()
    if row.capacity > capacity_before:
        await commands.promote(uow, settings, row)


def _fields(data: ev.TrainingData) -> dict[str, Any]:
    return {name: getattr(data, name) for name in CATALOGUE_FIELDS}


async def training_cancelled(
    settings: Settings, uow: UnitOfWork, data: ev.TrainingCancelled, envelope: Envelope
) -> None:
    training = await uow.session.get(TrainingRow, data.id, with_for_update=True)
    if training is None or training.revision >= data.revision:
        return
    training.status, training.revision = "cancelled", data.revision
    training.cancelled_at = envelope.occurred_at
    uow.session.add(training)
    await commands.cancel_training(uow, settings, training, data.reason)


async def training_completed(
    settings: Settings, uow: UnitOfWork, data: ev.TrainingCompleted, envelope: Envelope
) -> None:
    training = await uow.session.get(TrainingRow, data.id, with_for_update=True)
    if training is None or training.revision >= data.revision:
        return
    training.status, training.revision = "completed", data.revision
    # The retention period runs from here.
    training.completed_at = envelope.occurred_at
    uow.session.add(training)


def handlers(settings: Settings) -> dict[str, Handler]:
    return {
        ev.TrainingPublished.subject: partial(training_changed, settings),
        ev.TrainingUpdated.subject: partial(training_changed, settings),
        ev.TrainingCancelled.subject: partial(training_cancelled, settings),
        ev.TrainingCompleted.subject: partial(training_completed, settings),
    }
