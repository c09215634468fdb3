"""How evaluation follows the other services: trainings, attendees, completion and erasure."""

from __future__ import annotations

from functools import partial

from sqlmodel import select

from services.evaluation import commands
from services.evaluation.tables import AttendeeRow, CampaignRow, InvitationRow, TrainingRow
from shared.bus import Handler
from shared.db import UnitOfWork
from shared.events import Envelope
from shared.events import contracts as ev
from shared.settings import Settings


async def training_changed(
    settings: Settings, uow: UnitOfWork, data: ev.TrainingData, _: Envelope
) -> None:
    row = await uow.session.get(TrainingRow, data.id)
    if row is not None and row.revision >= data.revision:
        return
    values = {
        "revision": data.revision,
        "series": data.series,
        "title": data.title,
        "host_country": data.host_country,
        "city": data.city,
        "starts_on": data.starts_on,
        "ends_on": data.ends_on,
        "timezone": data.timezone,
        "language": data.language,
        "status": data.status,
    }
    if row is None:
        row = TrainingRow(id=data.id, **values)
    else:
        for name, value in values.items():
            setattr(row, name, value)
    uow.session.add(row)


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
    # A check-in that arrives after completion still gets its invitation.
    campaign = (
        await uow.session.exec(
            select(CampaignRow).where(CampaignRow.training_id == data.training_id)
        )
    ).first()
    training = await uow.session.get(TrainingRow, data.training_id)
    if campaign is not None and training is not None:
        await commands.invite(uow, settings, campaign, training, row)


async def check_in_undone(
    settings: Settings, uow: UnitOfWork, data: ev.RegistrationCheckInUndone, _: Envelope
) -> None:
    row = await uow.session.get(AttendeeRow, data.id)
    if row is None or row.revision >= data.revision:
        return
    row.checked_in, row.revision = False, data.revision
    uow.session.add(row)


async def participant_erased(
    settings: Settings, uow: UnitOfWork, data: ev.ParticipantErased, _: Envelope
) -> None:
    for attendee in await uow.session.exec(
        select(AttendeeRow).where(AttendeeRow.participant_id == data.id)
    ):
        await uow.session.delete(attendee)
    for invitation in await uow.session.exec(
        select(InvitationRow).where(InvitationRow.participant_id == data.id)
    ):
        # Keep the row so response rates stay right; drop everything that identifies.
        invitation.participant_id = invitation.name = invitation.email = None
        invitation.draft = None
        uow.session.add(invitation)


def handlers(settings: Settings) -> dict[str, Handler]:
    return {
        ev.TrainingPublished.subject: partial(training_changed, settings),
        ev.TrainingUpdated.subject: partial(training_changed, settings),
        ev.TrainingCompleted.subject: partial(training_status, settings),
        ev.TrainingCancelled.subject: partial(training_status, settings),
        ev.RegistrationCheckedIn.subject: partial(checked_in, settings),
        ev.RegistrationCheckInUndone.subject: partial(check_in_undone, settings),
        ev.ParticipantErased.subject: partial(participant_erased, settings),
    }
