"""What participants and staff do to registrations: one function per use case, each with the
signature `(uow, settings, who, input)`, run in one unit of work.

Who may act was decided by the route's guard before the command runs. Registering itself
goes through the group commit (intake.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import delete, insert
from sqlmodel import col, select

from services.registration import (
    attendance,
    attendance_days,
    audits,
    certificates,
    domain,
    mails,
    queries,
)
from services.registration.seats import locked, move_seats, seats_of, training_for_update
from services.registration.tables import RegistrationRow, TrainingRow, quota
from shared.audit import audited
from shared.clock import clock
from shared.commands import OneRegistration, OneTraining
from shared.db import UnitOfWork
from shared.errors import Invalid
from shared.events import contracts as ev
from shared.settings import Settings
from shared.staff import Staff
from shared.structs import carried


class CancelRegistration(OneRegistration): ...


@dataclass(frozen=True)
class Decision(OneRegistration):
    """Approve or decline, with the organisers' optional words for the participant's mail."""

    message: str | None = None


class ApproveRegistration(Decision): ...


class DeclineRegistration(Decision): ...


@dataclass(frozen=True)
class CheckIn(OneRegistration):
    """A day's check-in; without a day, today in the training's zone. The door page, the
    API and a scanned check-in code all come here."""

    day: date | None = None


class UndoCheckIn(CheckIn): ...


@dataclass(frozen=True)
class SetQuotas(OneTraining):
    quotas: Mapping[str, int]


@dataclass(frozen=True)
class MessageConfirmed(OneTraining):
    """The organisers write to every confirmed participant of a training."""

    subject: str
    message: str


@dataclass(frozen=True)
class Decided:
    """A registration after a change, with its place on the waitlist if it waits."""

    row: RegistrationRow
    position: int | None
    days: list[date] = field(default_factory=list)


# --- changing one registration -------------------------------------------------


def revise(uow: UnitOfWork, row: RegistrationRow, now: datetime) -> None:
    """A new revision of the registration, stored with the unit of work."""
    row.revision += 1
    row.updated_at = now
    uow.session.add(row)


async def _announce(
    uow: UnitOfWork,
    settings: Settings,
    training_row: TrainingRow,
    row: RegistrationRow,
    *,
    position: int | None = None,
    mail: mails.Mail | None = None,
    message: str | None = None,
) -> None:
    """Emit the registration's new status and mail the participant about it."""
    uow.emit(carried(ev.REGISTRATION_STATUS_EVENTS[row.status], row, waitlist_position=position))
    if row.erased_at is not None:
        return
    if mail is None:
        facts = await mails.facts_of(uow.session, settings, training_row, row)
        mail = mails.status_mail(facts, row.status, position, row.waitlist_reason, message)
    uow.send_mail(mail)


async def _decided(uow: UnitOfWork, row: RegistrationRow) -> Decided:
    await uow.session.flush()
    days = await attendance.days_of(uow.session, row.id)
    return Decided(row, await queries.waitlist_position(uow.session, row), days)


async def end_registration(
    uow: UnitOfWork,
    settings: Settings,
    row: RegistrationRow,
    training_row: TrainingRow,
    transition: domain.Transition,
    now: datetime,
    message: str | None = None,
) -> None:
    """Cancel or decline a locked registration; a seat it held goes to the waitlist."""
    row.status, row.waitlist_reason = transition.status, transition.waitlist_reason
    revise(uow, row, now)
    await _announce(uow, settings, training_row, row, message=message)
    if transition.frees_seat:
        await uow.session.flush()
        await move_seats(uow, training_row.id, -1)
        await promote(uow, settings, training_row, now)


async def _ended(
    uow: UnitOfWork,
    settings: Settings,
    registration_id: str,
    transition_of: Callable[[str], domain.Transition],
    message: str | None = None,
) -> Decided:
    now = clock.now()
    row, training_row = await locked(uow, registration_id)
    transition = transition_of(row.status)
    await end_registration(uow, settings, row, training_row, transition, now, message)
    return await _decided(uow, row)


@audited("registration.cancelled", audits.registration)
async def cancel(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: CancelRegistration
) -> Decided:
    """The participant or staff cancel; a freed seat goes to the first on the waitlist."""
    return await _ended(uow, settings, input.registration_id, domain.cancelled)


@audited("registration.declined", audits.registration)
async def decline(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: DeclineRegistration
) -> Decided:
    """Organisers may decline any active registration; a freed seat goes to the waitlist."""
    message = domain.staff_message(input.message)
    return await _ended(uow, settings, input.registration_id, domain.declined, message)


@audited("registration.approved", audits.registration)
async def approve(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: ApproveRegistration
) -> Decided:
    """A pending registration gets a seat if one is left within its quota, else waits."""
    now = clock.now()
    message = domain.staff_message(input.message)
    row, training_row = await locked(uow, input.registration_id)
    seats = await seats_of(uow, training_row.id)
    transition = domain.approved(row.status, row.country, seats)
    row.status, row.waitlist_reason = transition.status, transition.waitlist_reason
    revise(uow, row, now)
    await uow.session.flush()
    position = None
    if transition.status == "confirmed":
        await move_seats(uow, training_row.id, +1)
    else:
        # An approved registration waits in arrival order, which may be ahead of others.
        position = await queries.waitlist_position(uow.session, row)
    await _announce(uow, settings, training_row, row, position=position, message=message)
    return await _decided(uow, row)


async def promote(
    uow: UnitOfWork, settings: Settings, training_row: TrainingRow, now: datetime
) -> list[RegistrationRow]:
    """Give free seats to the waitlist in arrival order, skipping anyone over their quota.

    Not a use case of its own: the step that follows every change that may free a seat."""
    if training_row.status != "published":
        return []
    await uow.session.flush()
    seats = await seats_of(uow, training_row.id)
    if seats.left == 0 or seats.waitlisted == 0:
        return []
    waiting = list(
        await uow.session.exec(
            select(RegistrationRow)
            .where(RegistrationRow.training_id == training_row.id)
            .where(RegistrationRow.status == "waitlisted")
            .order_by(col(RegistrationRow.arrival))
            .execution_options(populate_existing=True)
        )
    )
    chosen = set(seats.promotions([(row.id, row.country) for row in waiting]))
    promoted = [row for row in waiting if row.id in chosen]
    for row in promoted:
        transition = domain.promoted()
        row.status, row.waitlist_reason = transition.status, transition.waitlist_reason
        revise(uow, row, now)
        facts = await mails.facts_of(uow.session, settings, training_row, row)
        await _announce(uow, settings, training_row, row, mail=mails.told(facts, "promoted"))
    await uow.session.flush()
    await move_seats(uow, training_row.id, len(promoted))
    return promoted


def _corrects(who: Staff | None) -> bool:
    """The secretariat may correct the attendance of a completed training."""
    return who is not None and who.is_secretariat


@audited("registration.checked_in", audits.registration)
async def check_in(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: CheckIn
) -> Decided:
    """Record that a confirmed participant came on a day of the training; after completion
    (a correction) the certificate follows."""
    return await _attendance(uow, settings, who, input.registration_id, input.day, undo=False)


@audited("registration.check_in_undone", audits.registration)
async def undo_check_in(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: UndoCheckIn
) -> Decided:
    """Undo one day's check-in; after completion (a correction) the certificate follows."""
    return await _attendance(uow, settings, who, input.registration_id, input.day, undo=True)


async def _attendance(
    uow: UnitOfWork,
    settings: Settings,
    who: Staff | None,
    registration_id: str,
    asked: date | None,
    *,
    undo: bool,
) -> Decided:
    """Add or remove one day of attendance; nothing changes when the day already is, or is
    not, recorded."""
    now = clock.now()
    row, training_row = await locked(uow, registration_id)
    attended = await attendance.days_of(uow.session, row.id)
    correcting = _corrects(who)
    day = attendance_days.day_changed(
        row.status, training_row, attended, asked, now, undo=undo, correcting=correcting
    )
    if day is not None:
        revise(uow, row, now)
        if undo:
            days = await attendance.remove(uow, row, day, attended)
        else:
            days = await attendance.record(uow, row, day, attended, now)
        await certificates.follow_attendance(uow, settings, training_row, row, days, now)
    return await _decided(uow, row)


@audited("quotas.set", audits.quotas)
async def set_quotas(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: SetQuotas
) -> dict[str, int]:
    """Replace the training's quotas; seats a raised quota frees go to the waitlist at once."""
    now = clock.now()
    quotas = domain.check_quotas(input.quotas)
    training_row = await training_for_update(uow, input.training_id)
    await uow.execute(delete(quota).where(quota.c.training_id == training_row.id))
    if quotas:
        await uow.execute(
            insert(quota),
            [
                {"training_id": training_row.id, "country": country, "maximum": maximum}
                for country, maximum in sorted(quotas.items())
            ],
        )
    await promote(uow, settings, training_row, now)
    return dict(sorted(quotas.items()))


@audited("participants.messaged", audits.message)
async def message_confirmed(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: MessageConfirmed
) -> int:
    """Queue the organisers' message to each confirmed participant; how many get it."""
    subject = domain.message_subject(input.subject)
    message = domain.staff_message(input.message)
    if message is None:
        raise Invalid("message must not be blank", field="message")
    training_row = await queries.training(uow.session, input.training_id)
    confirmed = await uow.session.exec(
        select(RegistrationRow)
        .where(RegistrationRow.training_id == training_row.id)
        .where(RegistrationRow.status == "confirmed")
        .where(col(RegistrationRow.erased_at).is_(None))
        .order_by(col(RegistrationRow.arrival))
    )
    count = 0
    for row in confirmed:
        facts = await mails.facts_of(uow.session, settings, training_row, row)
        uow.send_mail(mails.to_confirmed(facts, subject, message))
        count += 1
    return count


# --- scheduling's news -----------------------------------------------------------


async def cancel_training(
    uow: UnitOfWork,
    settings: Settings,
    training_row: TrainingRow,
    reason: str | None,
    now: datetime,
) -> int:
    """Every active registration of a cancelled training is cancelled and mailed."""
    active = await uow.session.exec(
        select(RegistrationRow)
        .where(RegistrationRow.training_id == training_row.id)
        .where(col(RegistrationRow.status).in_(domain.ACTIVE))
        .order_by(col(RegistrationRow.arrival))
    )
    count = 0
    for row in active:
        transition = domain.cancelled(row.status)
        row.status, row.waitlist_reason = transition.status, transition.waitlist_reason
        revise(uow, row, now)
        facts = await mails.facts_of(uow.session, settings, training_row, row)
        await _announce(
            uow, settings, training_row, row, mail=mails.training_cancelled(facts, reason)
        )
        count += 1
    training_row.taken = 0
    return count
