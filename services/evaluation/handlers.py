"""How evaluation follows the other services: trainings, sessions, attendees and erasure."""

from __future__ import annotations

from functools import partial

from services.evaluation import commands
from services.evaluation.tables import AttendeeRow, SessionRow, TrainingRow
from shared.bus import Handler
from shared.db import UnitOfWork
from shared.events import Envelope
from shared.events import contracts as ev
from shared.settings import Settings


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
    # Sessions carry revisions of their own: keep each one even if the training is older.
    for session in data.sessions:
        await keep_session(uow, session)
    row = await uow.session.get(TrainingRow, data.id)
    if row is not None and row.revision >= data.revision:
        return
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
    elif row.status not in ("completed", "cancelled"):
        row.status = data.status
    row.revision, row.series, row.series_title = data.revision, data.series, data.series_title
    row.title, row.host_country, row.city = data.title, data.host_country, data.city
    row.starts_on, row.ends_on = data.starts_on, data.ends_on
    row.timezone, row.language = data.timezone, data.language
    uow.session.add(row)


async def session_changed(
    settings: Settings, uow: UnitOfWork, data: ev.SessionData, _: Envelope
) -> None:
    await keep_session(uow, data)


async def training_status(
    settings: Settings,
    uow: UnitOfWork,
    data: ev.TrainingCompleted | ev.TrainingCancelled,
    env: Envelope,
) -> None:
    row = await uow.session.get(TrainingRow, data.id)
    if row is None:
        # Published events come first on the same stream; without one there is nothing to evaluate.
        return
    if row.revision >= data.revision:
        return
    row.revision = data.revision
    row.status = "completed" if isinstance(data, ev.TrainingCompleted) else "cancelled"
    uow.session.add(row)
    await uow.session.flush()
    if row.status == "completed":
        await commands.open_campaign(uow, settings, row)


async def checked_in(
    settings: Settings, uow: UnitOfWork, data: ev.RegistrationCheckedIn, _: Envelope
) -> None:
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
    row = await uow.session.get(AttendeeRow, data.id)
    if row is None or row.revision >= data.revision:
        return
    row.checked_in, row.revision = False, data.revision
    uow.session.add(row)
    await commands.withdraw_invitations(uow, data.id)


async def participant_erased(
    settings: Settings, uow: UnitOfWork, data: ev.ParticipantErased, _: Envelope
) -> None:
    await commands.erase_participant(uow, settings, data.id)


def handlers(settings: Settings) -> dict[str, Handler]:
    return {
        ev.TrainingPublished.subject: partial(training_changed, settings),
        ev.TrainingUpdated.subject: partial(training_changed, settings),
        ev.TrainingCompleted.subject: partial(training_status, settings),
        ev.TrainingCancelled.subject: partial(training_status, settings),
        ev.SessionScheduled.subject: partial(session_changed, settings),
        ev.SessionUpdated.subject: partial(session_changed, settings),
        ev.SessionCancelled.subject: partial(session_changed, settings),
        ev.RegistrationCheckedIn.subject: partial(checked_in, settings),
        ev.RegistrationCheckInUndone.subject: partial(check_in_undone, settings),
        ev.ParticipantErased.subject: partial(participant_erased, settings),
    }
