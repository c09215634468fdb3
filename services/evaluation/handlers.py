"""How evaluation follows the other services: trainings, sessions, attendees and erasure."""

from __future__ import annotations

from functools import partial

from services.evaluation import commands
from services.evaluation.tables import (
    AttendeeRow,
    ErasedParticipantRow,
    SessionRow,
    TrainingOutcomeRow,
    TrainingRow,
)
from shared.bus import PartialHandler as Handler  # the new shape comes in step 2
from shared.bus import lock_aggregate
from shared.db import UnitOfWork
from shared.events import Envelope
from shared.events import contracts as ev
from shared.settings import Settings

# A training that reached one of these stays there.
ENDED = ("completed", "cancelled")


async def keep_session(uow: UnitOfWork, data: ev.SessionData) -> None:
    row = await uow.session.get(SessionRow, data.id)
    if row is not None and row.revision >= data.revision:
        return
    if row is None:
        row = SessionRow(
            id=data.id,
            training_id=data.training_id,
            title=data.title,
            kind=data.kind,
            starts_at=data.starts_at,
            status=data.status,
            revision=data.revision,
        )
    else:
        row.title, row.kind, row.starts_at = data.title, data.kind, data.starts_at
        row.status, row.revision = data.status, data.revision
    uow.session.add(row)


async def training_changed(
    settings: Settings, uow: UnitOfWork, data: ev.TrainingData, _: Envelope
) -> None:
    """The row's `revision` is that of the training's data; how it ended is its outcome."""
    # Sessions carry revisions of their own: keep each one even if the training is older.
    for session in data.sessions:
        await keep_session(uow, session)
    await lock_aggregate(uow, f"training:{data.id}")
    row = await uow.session.get(TrainingRow, data.id)
    if row is not None and row.revision >= data.revision:
        return
    before = None if row is None else row.status
    outcome = await uow.session.get(TrainingOutcomeRow, data.id)
    if row is None:
        row = TrainingRow(
            id=data.id,
            revision=data.revision,
            series=data.series,
            title=data.title,
            host_country=data.host_country,
            city=data.city,
            starts_on=data.starts_on,
            ends_on=data.ends_on,
            timezone=data.timezone,
            status=data.status,
        )
    # Completion and cancellation are final here, whatever a late update says.
    elif row.status not in ENDED:
        row.status = data.status
    if outcome is not None:
        row.status = outcome.status
    row.revision, row.series, row.series_title = data.revision, data.series, data.series_title
    row.title, row.host_country, row.city = data.title, data.host_country, data.city
    row.starts_on, row.ends_on = data.starts_on, data.ends_on
    row.timezone, row.language = data.timezone, data.language
    uow.session.add(row)
    await uow.session.flush()
    if row.status == "completed" and before != "completed":
        # The completion arrived before the training: the campaign opens now.
        await commands.open_campaign(uow, settings, row)


async def session_changed(
    settings: Settings, uow: UnitOfWork, data: ev.SessionData, _: Envelope
) -> None:
    await keep_session(uow, data)


async def training_ended(
    settings: Settings,
    uow: UnitOfWork,
    data: ev.TrainingCompleted | ev.TrainingCancelled,
    env: Envelope,
) -> None:
    """Keep the outcome whether or not the training is known; a completion opens the campaign."""
    status = "completed" if isinstance(data, ev.TrainingCompleted) else "cancelled"
    await lock_aggregate(uow, f"training:{data.id}")
    outcome = await uow.session.get(TrainingOutcomeRow, data.id)
    if outcome is not None and outcome.revision >= data.revision:
        return
    if outcome is None:
        outcome = TrainingOutcomeRow(training_id=data.id, status=status, revision=data.revision)
    outcome.status, outcome.revision = status, data.revision
    uow.session.add(outcome)
    row = await uow.session.get(TrainingRow, data.id)
    if row is None or row.status == status:
        # Not known yet: the training's published event finds the outcome.
        return
    row.status = status
    uow.session.add(row)
    await uow.session.flush()
    if row.status == "completed":
        await commands.open_campaign(uow, settings, row)


async def _erased(uow: UnitOfWork, participant_id: str) -> bool:
    return await uow.session.get(ErasedParticipantRow, participant_id) is not None


async def checked_in(
    settings: Settings, uow: UnitOfWork, data: ev.RegistrationCheckedIn, _: Envelope
) -> None:
    # The training first (always in this order): a campaign opening at this moment in
    # another transaction would otherwise miss this attendee, and this one its campaign.
    await lock_aggregate(uow, f"training:{data.training_id}")
    await lock_aggregate(uow, f"participant:{data.participant_id}")
    if await _erased(uow, data.participant_id):
        # Erased before this arrived: the person's data must not come back.
        return
    row = await uow.session.get(AttendeeRow, data.id)
    if row is not None and row.revision >= data.revision:
        return
    if row is None:
        row = AttendeeRow(
            registration_id=data.id,
            training_id=data.training_id,
            participant_id=data.participant_id,
            name=data.name,
            email=data.email,
            language=data.language,
            revision=data.revision,
        )
    else:
        row.name, row.email, row.language = data.name, data.email, data.language
        row.checked_in, row.revision = True, data.revision
    uow.session.add(row)
    await uow.session.flush()
    training = await uow.session.get(TrainingRow, data.training_id)
    if training is not None:
        await commands.invite_late_attendee(uow, settings, training, row)


async def check_in_undone(
    settings: Settings, uow: UnitOfWork, data: ev.RegistrationCheckInUndone, _: Envelope
) -> None:
    await lock_aggregate(uow, f"training:{data.training_id}")
    await lock_aggregate(uow, f"participant:{data.participant_id}")
    if await _erased(uow, data.participant_id):
        return
    row = await uow.session.get(AttendeeRow, data.id)
    if row is not None and row.revision >= data.revision:
        return
    if row is None:
        # The check-in this undoes has not arrived: keep the undoing, without personal
        # data, so that the older check-in is ignored when it comes.
        uow.session.add(
            AttendeeRow(
                registration_id=data.id,
                training_id=data.training_id,
                participant_id=data.participant_id,
                name="",
                email="",
                checked_in=False,
                revision=data.revision,
            )
        )
        return
    # Nobody is invited without a check-in, so nothing personal is kept meanwhile; a new
    # check-in brings it again. An undoing that arrived first holds the same.
    row.name, row.email = "", ""
    row.checked_in, row.revision = False, data.revision
    uow.session.add(row)
    await commands.withdraw_invitations(uow, data.id)


async def participant_erased(
    settings: Settings, uow: UnitOfWork, data: ev.ParticipantErased, _: Envelope
) -> None:
    await lock_aggregate(uow, f"participant:{data.id}")
    await commands.erase_participant(uow, settings, data.id)
    # Remembered so that events about the person arriving later (a check-in overtaken
    # by the erasure) do not bring their data back.
    if not await _erased(uow, data.id):
        uow.session.add(ErasedParticipantRow(participant_id=data.id))


def handlers(settings: Settings) -> dict[str, Handler]:
    return {
        ev.TrainingPublished.subject: partial(training_changed, settings),
        ev.TrainingUpdated.subject: partial(training_changed, settings),
        ev.TrainingCompleted.subject: partial(training_ended, settings),
        ev.TrainingCancelled.subject: partial(training_ended, settings),
        ev.SessionScheduled.subject: partial(session_changed, settings),
        ev.SessionUpdated.subject: partial(session_changed, settings),
        ev.SessionCancelled.subject: partial(session_changed, settings),
        ev.RegistrationCheckedIn.subject: partial(checked_in, settings),
        ev.RegistrationCheckInUndone.subject: partial(check_in_undone, settings),
        ev.ParticipantErased.subject: partial(participant_erased, settings),
    }
