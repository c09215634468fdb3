"""How scheduling reacts to registration events: who is confirmed where, and feed tokens."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, delete, select

from services.scheduling import domain
from services.scheduling.tables import (
    CalendarEntryRow,
    EnrolmentRow,
    ErasedParticipantRow,
    FeedTokenRow,
)
from shared import audit, bus
from shared.bus import Handler, lock_aggregate
from shared.clock import clock
from shared.db import UnitOfWork
from shared.events import Envelope
from shared.events import contracts as ev
from shared.revisions import upsert_if_newer
from shared.settings import Settings


async def _erased(uow: UnitOfWork, participant_id: str) -> bool:
    return await uow.session.get(ErasedParticipantRow, participant_id) is not None


async def registration_changed(
    uow: UnitOfWork, settings: Settings, data: ev.RegistrationData, envelope: Envelope
) -> None:
    now = clock.now()
    await lock_aggregate(uow, f"participant:{data.participant_id}")
    if await _erased(uow, data.participant_id):
        return
    row = await upsert_if_newer(
        uow,
        EnrolmentRow,
        data.id,
        data.revision,
        {"status": data.status},
        create={"training_id": data.training_id, "participant_id": data.participant_id},
    )
    if row is None:
        return  # an older event than what we hold
    await uow.session.flush()
    await _relist(uow, data.participant_id, data.training_id, now)


async def _relist(uow: UnitOfWork, participant_id: str, training_id: str, now: datetime) -> None:
    """Bring the training's place in the participant's feed in line with their registrations.

    A person may hold several registrations for one training over time (cancel,
    register again), so the listing follows all of them, in whatever order
    their events arrived.
    """
    statuses = await uow.session.exec(
        select(EnrolmentRow.status)
        .where(EnrolmentRow.participant_id == participant_id)
        .where(EnrolmentRow.training_id == training_id)
    )
    confirmed = any(status in domain.CONFIRMED for status in statuses)
    entry = await uow.session.get(CalendarEntryRow, (participant_id, training_id))
    current = None if entry is None else domain.Listing(entry.listed, entry.offset)
    after = domain.listing_after(current, confirmed)
    if after is None or after == current:
        return
    if entry is None:
        entry = CalendarEntryRow(
            participant_id=participant_id, training_id=training_id, changed_at=now
        )
    entry.listed, entry.offset, entry.changed_at = after.listed, after.offset, now
    uow.session.add(entry)


async def feed_token_set(
    uow: UnitOfWork, settings: Settings, data: ev.ParticipantFeedTokenSet, envelope: Envelope
) -> None:
    await lock_aggregate(uow, f"participant:{data.id}")
    if await _erased(uow, data.id):
        return
    await upsert_if_newer(
        uow, FeedTokenRow, data.id, data.revision, {"token_sha256": data.feed_token_sha256}
    )


async def participant_erased(
    uow: UnitOfWork, settings: Settings, data: ev.ParticipantErased, envelope: Envelope
) -> None:
    """Forget the person: their feed is gone, and later events about them are ignored."""
    # Another instance may be applying an older event about them at this moment.
    await lock_aggregate(uow, f"participant:{data.id}")
    for table in (FeedTokenRow, EnrolmentRow, CalendarEntryRow):
        await uow.execute(delete(table).where(col(table.participant_id) == data.id))
    # Dead letters keep whole events, a check-in's name and e-mail among them.
    await bus.forget_dead_letters(uow, data.id)
    await audit.forget_person(uow, data.id)
    if not await _erased(uow, data.id):
        uow.session.add(ErasedParticipantRow(participant_id=data.id, erased_at=clock.now()))


HANDLERS: dict[str, Handler] = {
    **{event.subject: registration_changed for event in ev.REGISTRATION_STATUS_EVENTS.values()},
    ev.RegistrationCheckedIn.subject: registration_changed,
    ev.ParticipantFeedTokenSet.subject: feed_token_set,
    ev.ParticipantErased.subject: participant_erased,
}
