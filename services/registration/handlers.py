"""How registration follows scheduling: the catalogue, capacity changes and cancellations."""

from __future__ import annotations

from functools import partial
from typing import Any

from services.registration import commands
from services.registration.tables import TrainingOutcomeRow, TrainingRow
from shared.bus import PartialHandler as Handler  # the new shape comes in step 2
from shared.bus import lock_aggregate
from shared.db import UnitOfWork
from shared.events import Envelope, Payload
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
    """Published or updated: the catalogue follows; a raised capacity promotes at once.

    The row's `revision` is that of the catalogue data. How the training ended is kept
    in its outcome, which may have arrived first and holds over any status a full
    event carries.
    """
    await lock_aggregate(uow, f"training:{data.id}")
    row = await uow.session.get(TrainingRow, data.id, with_for_update=True)
    if row is not None and row.revision >= data.revision:
        return
    fields = _fields(data)
    outcome = await uow.session.get(TrainingOutcomeRow, data.id)
    if outcome is not None:
        fields["status"] = outcome.status
    if row is None:
        row = TrainingRow(id=data.id, revision=data.revision, taken=0, **fields)
        capacity_before = data.capacity
    else:
        capacity_before = row.capacity
        for name, value in fields.items():
            setattr(row, name, value)
        row.revision = data.revision
    if outcome is not None:
        _end(row, outcome)
    uow.session.add(row)
    await uow.session.flush()
    if row.status == "published" and row.capacity > capacity_before:
        await commands.promote(uow, settings, row)


def _fields(data: ev.TrainingData) -> dict[str, Any]:
    return {name: getattr(data, name) for name in CATALOGUE_FIELDS}


def _end(row: TrainingRow, outcome: TrainingOutcomeRow) -> None:
    row.status = outcome.status
    if outcome.status == "cancelled":
        row.cancelled_at = outcome.occurred_at
    else:
        # The retention period runs from here.
        row.completed_at = outcome.occurred_at


async def _training_ended(
    uow: UnitOfWork, data: Payload, status: str, envelope: Envelope
) -> TrainingRow | None:
    """Keep the outcome, whether or not the training is known yet.

    Returns the catalogue entry to act on, or None when the training is not known yet
    (its `published` will find the outcome) or this outcome is no news.
    """
    await lock_aggregate(uow, f"training:{data.id}")
    training = await uow.session.get(TrainingRow, data.id, with_for_update=True)
    outcome = await uow.session.get(TrainingOutcomeRow, data.id)
    if outcome is not None and outcome.revision >= data.revision:
        return None
    if outcome is None:
        outcome = TrainingOutcomeRow(
            training_id=data.id,
            status=status,
            revision=data.revision,
            occurred_at=envelope.occurred_at,
        )
    outcome.status, outcome.revision = status, data.revision
    outcome.occurred_at = envelope.occurred_at
    uow.session.add(outcome)
    if training is None or training.status == status:
        return None
    _end(training, outcome)
    uow.session.add(training)
    return training


async def training_cancelled(
    settings: Settings, uow: UnitOfWork, data: ev.TrainingCancelled, envelope: Envelope
) -> None:
    training = await _training_ended(uow, data, "cancelled", envelope)
    if training is not None:
        await commands.cancel_training(uow, settings, training, data.reason)


async def training_completed(
    settings: Settings, uow: UnitOfWork, data: ev.TrainingCompleted, envelope: Envelope
) -> None:
    await _training_ended(uow, data, "completed", envelope)


def handlers(settings: Settings) -> dict[str, Handler]:
    return {
        ev.TrainingPublished.subject: partial(training_changed, settings),
        ev.TrainingUpdated.subject: partial(training_changed, settings),
        ev.TrainingCancelled.subject: partial(training_cancelled, settings),
        ev.TrainingCompleted.subject: partial(training_completed, settings),
    }
