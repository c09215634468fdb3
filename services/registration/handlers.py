"""How registration follows the other services: scheduling's catalogue, capacity changes and
cancellations; evaluation's counts of invited and answered, for the series statistics."""

from __future__ import annotations

from typing import Any

import msgspec

from services.registration import certificates, commands, domain, notices, programme
from services.registration.tables import EvaluationCountRow, TrainingOutcomeRow, TrainingRow
from shared.bus import Handler, lock_aggregate
from shared.clock import clock
from shared.db import UnitOfWork
from shared.events import Envelope, Payload
from shared.events import contracts as ev
from shared.revisions import held, upsert_if_newer
from shared.settings import Settings
from shared.staff_directory import staff_changed

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
    "by_nomination",
    "nominations_close_at",
)


async def training_changed(
    uow: UnitOfWork, settings: Settings, data: ev.TrainingData, envelope: Envelope
) -> None:
    """Published or updated: the catalogue follows; a raised capacity promotes at once.

    The row's `revision` is that of the catalogue data. How the training ended is kept
    in its outcome, which may have arrived first and holds over any status a full
    event carries.
    """
    await lock_aggregate(uow, f"training:{data.id}")
    row, news = await held(uow, TrainingRow, data.id, data.revision, for_update=True)
    if not news:
        return
    fields = _fields(data)
    outcome = await uow.session.get(TrainingOutcomeRow, data.id)
    fields["status"] = domain.status_after(data.status, outcome.status if outcome else None)
    arriving = [_kept(session, envelope) for session in data.sessions]
    changes: list[dict[str, Any]] = []
    if row is None:
        row = TrainingRow(id=data.id, revision=data.revision, taken=0, **fields)
        row.sessions = programme.merged(None, arriving)[0]
        capacity_before = data.capacity
    else:
        capacity_before = row.capacity
        changes = programme.venue_change(row.venue, data.venue)
        row.sessions, news_of_sessions = programme.merged(row.sessions, arriving)
        changes += [
            change
            for before, after in news_of_sessions
            for change in programme.session_changes(before, after)
        ]
        announced = row.status == "published"
        for name, value in fields.items():
            setattr(row, name, value)
        row.revision = data.revision
        if not announced:
            changes = []
    if outcome is not None:
        _end(row, outcome)
    uow.session.add(row)
    await uow.session.flush()
    if changes and row.status == "published":
        await notices.note_changes(uow, settings, row.id, changes)
    if row.status == "published" and row.capacity > capacity_before:
        await commands.promote(uow, settings, row, clock.now())


def _kept(session: ev.SessionData, envelope: Envelope) -> dict[str, Any]:
    """A session as the programme keeps it: the event's data, and when it occurred (the
    DTSTAMP of the confirmation mail's calendar)."""
    return {**msgspec.to_builtins(session), "revised_at": envelope.occurred_at.isoformat()}


async def session_changed(
    uow: UnitOfWork, settings: Settings, data: ev.SessionData, envelope: Envelope
) -> None:
    """A session of a published training changed: the programme follows, and confirmed
    participants hear of it in the next summary. A session of a training not known yet
    comes again with the training's own event."""
    await lock_aggregate(uow, f"training:{data.training_id}")
    row = await uow.session.get(TrainingRow, data.training_id, with_for_update=True)
    if row is None:
        return
    row.sessions, news = programme.merged(row.sessions, [_kept(data, envelope)])
    if not news:
        return
    uow.session.add(row)
    if row.status == "published":
        changes = [
            change for before, after in news for change in programme.session_changes(before, after)
        ]
        if changes:
            await notices.note_changes(uow, settings, row.id, changes)


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
    outcome, news = await held(uow, TrainingOutcomeRow, data.id, data.revision)
    if not news:
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
    uow: UnitOfWork, settings: Settings, data: ev.TrainingCancelled, envelope: Envelope
) -> None:
    training = await _training_ended(uow, data, "cancelled", envelope)
    if training is not None:
        await commands.cancel_training(uow, settings, training, data.reason, clock.now())


async def training_completed(
    uow: UnitOfWork, settings: Settings, data: ev.TrainingCompleted, envelope: Envelope
) -> None:
    training = await _training_ended(uow, data, "completed", envelope)
    if training is not None:
        await certificates.issue_for_training(uow, settings, training, clock.now())


async def evaluation_counted(
    uow: UnitOfWork,
    settings: Settings,
    data: ev.ResponseSubmitted | ev.CampaignClosed,
    _: Envelope,
) -> None:
    """Keep a campaign's latest counts. Evaluation publishes them only when answers are
    released (in steps of at least three) and at the close, so they never single anyone out."""
    values = {
        "training_id": data.training_id,
        "stage": data.stage,
        "invited": data.invited,
        "answered": data.answered,
    }
    await upsert_if_newer(uow, EvaluationCountRow, data.id, data.revision, values)


HANDLERS: dict[str, Handler] = {
    ev.StaffChanged.subject: staff_changed,
    ev.TrainingPublished.subject: training_changed,
    ev.TrainingUpdated.subject: training_changed,
    ev.TrainingCancelled.subject: training_cancelled,
    ev.TrainingCompleted.subject: training_completed,
    ev.SessionScheduled.subject: session_changed,
    ev.SessionUpdated.subject: session_changed,
    ev.SessionCancelled.subject: session_changed,
    ev.ResponseSubmitted.subject: evaluation_counted,
    ev.CampaignClosed.subject: evaluation_counted,
}
