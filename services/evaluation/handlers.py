"""How evaluation follows the other services: trainings, sessions, attendees and erasure."""

from __future__ import annotations

from services.evaluation import domain, invitations
from services.evaluation.tables import (
    AttendeeRow,
    ErasedParticipantRow,
    SessionRow,
    TrainingOutcomeRow,
    TrainingRow,
)
from shared.bus import Handler, lock_aggregate
from shared.db import UnitOfWork
from shared.events import Envelope
from shared.events import contracts as ev
from shared.revisions import held, upsert_if_newer
from shared.settings import Settings
from shared.staff_directory import staff_changed

# What evaluation keeps of a training's data, under the same names.
TRAINING_FIELDS = (
    "revision",
    "series",
    "series_title",
    "title",
    "host_country",
    "city",
    "starts_on",
    "ends_on",
    "timezone",
    "language",
)


async def keep_session(uow: UnitOfWork, data: ev.SessionData) -> None:
    await upsert_if_newer(
        uow,
        SessionRow,
        data.id,
        data.revision,
        {
            "title": data.title,
            "kind": data.kind,
            "starts_at": data.starts_at,
            "status": data.status,
        },
        create={"training_id": data.training_id},
    )


async def training_changed(
    uow: UnitOfWork, settings: Settings, data: ev.TrainingData, _: Envelope
) -> None:
    """The row's `revision` is that of the training's data; how it ended is its outcome."""
    # Sessions carry revisions of their own: keep each one even if the training is older.
    for session in data.sessions:
        await keep_session(uow, session)
    await lock_aggregate(uow, f"training:{data.id}")
    row, news = await held(uow, TrainingRow, data.id, data.revision)
    if not news:
        return
    before = None if row is None else row.status
    outcome = await uow.session.get(TrainingOutcomeRow, data.id)
    status = domain.status_after(before, data.status, outcome.status if outcome else None)
    values = {name: getattr(data, name) for name in TRAINING_FIELDS} | {"status": status}
    if row is None:
        row = TrainingRow(id=data.id, **values)
    else:
        row.sqlmodel_update(values)
    uow.session.add(row)
    await uow.session.flush()
    if row.status == "completed" and before != "completed":
        # The completion arrived before the training: the campaign opens now.
        await invitations.open_campaign(uow, settings, None, invitations.OpenCampaign(row))


async def session_changed(
    uow: UnitOfWork, settings: Settings, data: ev.SessionData, _: Envelope
) -> None:
    await keep_session(uow, data)


async def training_ended(
    uow: UnitOfWork,
    settings: Settings,
    data: ev.TrainingCompleted | ev.TrainingCancelled,
    _: Envelope,
) -> None:
    """Keep the outcome whether or not the training is known; a completion opens the campaign."""
    status = "completed" if isinstance(data, ev.TrainingCompleted) else "cancelled"
    await lock_aggregate(uow, f"training:{data.id}")
    kept = await upsert_if_newer(
        uow, TrainingOutcomeRow, data.id, data.revision, {"status": status}
    )
    if kept is None:
        return
    row = await uow.session.get(TrainingRow, data.id)
    if row is None or row.status == status:
        # Not known yet: the training's published event finds the outcome.
        return
    row.status = status
    uow.session.add(row)
    await uow.session.flush()
    if row.status == "completed":
        await invitations.open_campaign(uow, settings, None, invitations.OpenCampaign(row))


async def _erased(uow: UnitOfWork, participant_id: str) -> bool:
    return await uow.session.get(ErasedParticipantRow, participant_id) is not None


async def _attendee_locked(uow: UnitOfWork, training_id: str, participant_id: str) -> bool:
    """Lock the training, then the person; False if the person was erased before this
    arrived, whose data must then not come back.

    The training first (always in this order): a campaign opening at this moment in
    another transaction would otherwise miss this attendee, and this one its campaign."""
    await lock_aggregate(uow, f"training:{training_id}")
    await lock_aggregate(uow, f"participant:{participant_id}")
    return not await _erased(uow, participant_id)


async def _attended(
    uow: UnitOfWork,
    settings: Settings,
    data: ev.RegistrationCheckedIn | ev.RegistrationCheckInUndone,
    days: list[str] | None,
) -> None:
    """The person attended at least one day: keep what their invitation needs and invite
    them if a campaign is open."""
    row = await upsert_if_newer(
        uow,
        AttendeeRow,
        data.id,
        data.revision,
        {
            "name": data.name,
            "email": data.email,
            "language": data.language,
            "checked_in": True,
            "days": days,
        },
        create={"training_id": data.training_id, "participant_id": data.participant_id},
    )
    if row is None:
        return
    await uow.session.flush()
    training = await uow.session.get(TrainingRow, data.training_id)
    if training is not None:
        late = invitations.InviteAttendee(training, row)
        await invitations.invite_late_attendee(uow, settings, None, late)


async def registration_updated(
    uow: UnitOfWork, settings: Settings, data: ev.RegistrationUpdated, _: Envelope
) -> None:
    """The participant corrected their details: an attendee and their invitations use the
    new name, e-mail and language. A registration not checked in is not held here (its
    check-in, when it comes, carries the details as they are then)."""
    if not await _attendee_locked(uow, data.training_id, data.participant_id):
        return
    row, news = await held(uow, AttendeeRow, data.id, data.revision)
    if row is None or not news:
        return
    row.revision = data.revision
    if row.checked_in:
        row.name, row.email, row.language = data.name, data.email, data.language
        await invitations.rename_invited(uow, data.id, data.name, data.email)
    uow.session.add(row)


def _days(data: ev.RegistrationCheckedIn | ev.RegistrationCheckInUndone) -> list[str] | None:
    return [day.isoformat() for day in data.days_attended] or None


async def checked_in(
    uow: UnitOfWork, settings: Settings, data: ev.RegistrationCheckedIn, _: Envelope
) -> None:
    if not await _attendee_locked(uow, data.training_id, data.participant_id):
        return
    await _attended(uow, settings, data, _days(data))


async def check_in_undone(
    uow: UnitOfWork, settings: Settings, data: ev.RegistrationCheckInUndone, _: Envelope
) -> None:
    """One day undone: while another day remains the person still attended (and stays
    invited); with none left the invitation goes."""
    if not await _attendee_locked(uow, data.training_id, data.participant_id):
        return
    if data.days_attended:
        await _attended(uow, settings, data, _days(data))
        return
    row, news = await held(uow, AttendeeRow, data.id, data.revision)
    if not news:
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
    row.name, row.email, row.days = "", "", None
    row.checked_in, row.revision = False, data.revision
    uow.session.add(row)
    withdraw = invitations.WithdrawInvitations(data.id)
    await invitations.withdraw_invitations(uow, settings, None, withdraw)


async def participant_erased(
    uow: UnitOfWork, settings: Settings, data: ev.ParticipantErased, _: Envelope
) -> None:
    await lock_aggregate(uow, f"participant:{data.id}")
    erase = invitations.EraseParticipant(data.id)
    await invitations.erase_participant(uow, settings, None, erase)
    # Remembered so that events about the person arriving later (a check-in overtaken
    # by the erasure) do not bring their data back.
    if not await _erased(uow, data.id):
        uow.session.add(ErasedParticipantRow(participant_id=data.id))


HANDLERS: dict[str, Handler] = {
    ev.StaffChanged.subject: staff_changed,
    ev.TrainingPublished.subject: training_changed,
    ev.TrainingUpdated.subject: training_changed,
    ev.TrainingCompleted.subject: training_ended,
    ev.TrainingCancelled.subject: training_ended,
    ev.SessionScheduled.subject: session_changed,
    ev.SessionUpdated.subject: session_changed,
    ev.SessionCancelled.subject: session_changed,
    ev.RegistrationCheckedIn.subject: checked_in,
    ev.RegistrationUpdated.subject: registration_updated,
    ev.RegistrationCheckInUndone.subject: check_in_undone,
    ev.ParticipantErased.subject: participant_erased,
}
