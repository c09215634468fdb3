"""How scheduling reacts to registration events: who is confirmed where, and feed tokens."""

from __future__ import annotations

from sqlmodel import delete

from services.scheduling.tables import EnrolmentRow, FeedTokenRow
from shared.bus import Handler
from shared.db import UnitOfWork
from shared.events import Envelope
from shared.events import contracts as ev
from shared.settings import Settings


async def registration_changed(uow: UnitOfWork, data: ev.RegistrationData, _: Envelope) -> None:
    row = await uow.session.get(EnrolmentRow, data.id)
    if row is not None and row.revision >= data.revision:
        return  # an older event than what we hold
    if row is None:
        row = EnrolmentRow(
            registration_id=data.id,
            training_id=data.training_id,
            participant_id=data.participant_id,
            status=data.status,
            revision=data.revision,
        )
    else:
        row.status, row.revision = data.status, data.revision
    uow.session.add(row)


async def feed_token_set(uow: UnitOfWork, data: ev.ParticipantFeedTokenSet, _: Envelope) -> None:
    row = await uow.session.get(FeedTokenRow, data.id)
    if row is not None and row.revision >= data.revision:
        return
    if row is None:
        row = FeedTokenRow(
            participant_id=data.id, token_sha256=data.feed_token_sha256, revision=data.revision
        )
    else:
        row.token_sha256, row.revision = data.feed_token_sha256, data.revision
    uow.session.add(row)


async def participant_erased(uow: UnitOfWork, data: ev.ParticipantErased, _: Envelope) -> None:
    await uow.session.exec(delete(FeedTokenRow).where(FeedTokenRow.participant_id == data.id))  # type: ignore[call-overload]
    await uow.session.exec(delete(EnrolmentRow).where(EnrolmentRow.participant_id == data.id))  # type: ignore[call-overload]


def handlers(_settings: Settings) -> dict[str, Handler]:
    return HANDLERS


HANDLERS: dict[str, Handler] = {
    **{
        event.subject: registration_changed  # type: ignore[dict-item]
        for event in ev.REGISTRATION_STATUS_EVENTS.values()
    },
    ev.RegistrationCheckedIn.subject: registration_changed,  # type: ignore[dict-item]
    ev.ParticipantFeedTokenSet.subject: feed_token_set,  # type: ignore[dict-item]
    ev.ParticipantErased.subject: participant_erased,  # type: ignore[dict-item]
}
