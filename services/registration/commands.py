"""What participants and staff do to registrations; each command runs in one unit of work."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import msgspec
from sqlalchemy import func, update
from sqlmodel import col, select

from services.registration import domain
from services.registration.schemas import RegistrationIn
from services.registration.tables import ParticipantRow, QuotaRow, RegistrationRow, TrainingRow
from shared import tokens
from shared.auth import Staff
from shared.clock import clock
from shared.countries import UnknownCountry, category
from shared.db import UnitOfWork
from shared.events import contracts as ev
from shared.mail import Mail
from shared.problems import Problem
from shared.settings import Settings


@dataclass(frozen=True)
class Links:
    """Secrets of a registration: derived from the server secret, stored only as hashes."""

    manage_token: str
    manage_url: str
    calendar_url: str


def derive(settings: Settings, purpose: str, subject_id: str, generation: int) -> str:
    return tokens.derive(settings.secret, purpose, subject_id, generation)


def links(settings: Settings, registration: RegistrationRow, participant: ParticipantRow) -> Links:
    manage = derive(settings, "manage", registration.id, 1)
    feed = derive(settings, "feed", participant.id, participant.feed_generation)
    return Links(
        manage_token=manage,
        manage_url=f"{settings.public_url('registration')}/manage/{manage}",
        calendar_url=f"{settings.public_url('scheduling')}/calendars/{feed}.ics",
    )


async def training_for_update(uow: UnitOfWork, training_id: str) -> TrainingRow:
    """The catalogue row, locked on PostgreSQL so seat changes of one training queue up."""
    row = (
        await uow.session.exec(
            select(TrainingRow).where(TrainingRow.id == training_id).with_for_update()
        )
    ).first()
    if row is None:
        raise Problem(404, f"no training {training_id} open for registration")
    return row


def _event(row: RegistrationRow, position: int | None = None) -> ev.RegistrationData:
    return ev.REGISTRATION_STATUS_EVENTS[row.status](
        id=row.id,
        revision=row.revision,
        training_id=row.training_id,
        participant_id=row.participant_id,
        status=row.status,
        waitlist_position=position,
    )


async def waitlist_position(uow: UnitOfWork, row: RegistrationRow) -> int | None:
    if row.status != "waitlisted":
        return None
    ahead = await uow.session.exec(
        select(func.count())
        .select_from(RegistrationRow)
        .where(RegistrationRow.training_id == row.training_id)
        .where(RegistrationRow.status == "waitlisted")
        .where(col(RegistrationRow.arrival) < row.arrival)
    )
    return int(ahead.one()) + 1


async def _within_quota(uow: UnitOfWork, training_id: str, country: str) -> bool:
    quota = (
        await uow.session.exec(
            select(QuotaRow)
            .where(QuotaRow.training_id == training_id)
            .where(QuotaRow.country == country)
        )
    ).first()
    if quota is None:
        return True
    confirmed = await uow.session.exec(
        select(func.count())
        .select_from(RegistrationRow)
        .where(RegistrationRow.training_id == training_id)
        .where(RegistrationRow.country == country)
        .where(RegistrationRow.status == "confirmed")
    )
    return int(confirmed.one()) < quota.maximum


async def _take_seat(uow: UnitOfWork, training_id: str) -> bool:
    """Race-free on both databases: the row count says whether a seat was free."""
    result = await uow.execute(
        update(TrainingRow)
        .where(col(TrainingRow.id) == training_id)
        .where(col(TrainingRow.taken) < col(TrainingRow.capacity))
        .values(taken=TrainingRow.taken + 1)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def _free_seat(uow: UnitOfWork, training_id: str) -> None:
    await uow.execute(
        update(TrainingRow)
        .where(col(TrainingRow.id) == training_id)
        .where(col(TrainingRow.taken) > 0)
        .values(taken=TrainingRow.taken - 1)
    )


async def participant_for(
    uow: UnitOfWork, settings: Settings, email: str, name: str
) -> ParticipantRow:
    participant = (
        await uow.session.exec(select(ParticipantRow).where(ParticipantRow.email == email))
    ).first()
    if participant is not None:
        return participant
    participant = ParticipantRow(
        id=str(uuid.uuid4()), email=email, name=name, feed_token_sha256="", created_at=clock.now()
    )
    feed = derive(settings, "feed", participant.id, participant.feed_generation)
    participant.feed_token_sha256 = tokens.digest(feed)
    uow.session.add(participant)
    uow.emit(
        ev.ParticipantFeedTokenSet(
            id=participant.id,
            revision=participant.revision,
            feed_token_sha256=participant.feed_token_sha256,
        )
    )
    return participant


async def register(
    uow: UnitOfWork,
    settings: Settings,
    training_id: str,
    data: RegistrationIn,
    staff: Staff | None,
) -> tuple[RegistrationRow, ParticipantRow, int | None]:
    training = await training_for_update(uow, training_id)
    by_staff = staff is not None and staff.may_manage(training.host_country)
    now = clock.now()
    domain.check_open(_window(training), now, by_staff=by_staff)
    if not data.consent:
        raise Problem(422, "consent to the processing of your data is required", field="consent")
    try:
        represented = category(data.country, training.starts_on)
    except UnknownCountry:
        raise Problem(
            422, f"{data.country!r} is not a known country code", field="country"
        ) from None
    country = data.country.upper()
    email = data.email.strip().lower()
    participant = await participant_for(uow, settings, email, data.name)
    duplicate = (
        await uow.session.exec(
            select(RegistrationRow.id)
            .where(RegistrationRow.training_id == training.id)
            .where(RegistrationRow.participant_id == participant.id)
            .where(col(RegistrationRow.status).in_(domain.ACTIVE))
        )
    ).first()
    if duplicate is not None:
        raise Problem(409, f"{email} is already registered for this training", field="email")
    within_quota = training.moderated or await _within_quota(uow, training.id, country)
    seat_free = False
    if not training.moderated and within_quota:
        seat_free = await _take_seat(uow, training.id)
    status, reason = domain.first_status(
        moderated=training.moderated, seat_free=seat_free, within_quota=within_quota
    )
    row = RegistrationRow(
        id=str(uuid.uuid4()),
        training_id=training.id,
        participant_id=participant.id,
        name=data.name,
        email=email,
        organisation=data.organisation,
        position=data.position,
        country=country,
        category=represented,
        needs=msgspec.to_builtins(data.needs) if data.needs else None,
        consent_at=now,
        status=status,
        waitlist_reason=reason,
        manage_token_sha256="",
        created_at=now,
        updated_at=now,
    )
    uow.session.add(row)
    await uow.session.flush()
    row.manage_token_sha256 = tokens.digest(derive(settings, "manage", row.id, 1))
    uow.session.add(row)
    position = await waitlist_position(uow, row)
    uow.emit(_event(row, position))
    uow.send_mail(status_mail(settings, training, row, participant, position))
    return row, participant, position


def _window(training: TrainingRow) -> domain.Window:
    return domain.Window(
        opens_at=training.registration_opens_at,
        closes_at=training.registration_closes_at,
        status=training.status,
        starts_on=training.starts_on,
        timezone=training.timezone,
    )


def status_mail(
    settings: Settings,
    training: TrainingRow,
    row: RegistrationRow,
    participant: ParticipantRow,
    position: int | None = None,
    *,
    promoted: bool = False,
) -> Mail:
    link = links(settings, row, participant)
    when = f"{training.starts_on:%d %B %Y} in {training.city}"
    if row.status == "confirmed":
        subject = f"{'A seat is yours' if promoted else 'Registration confirmed'}: {training.title}"
        lead = (
            f"A seat has become free and is now yours at {training.title}, {when}."
            if promoted
            else f"Your seat at {training.title}, {when}, is confirmed."
        )
        text = (
            f"Dear {row.name},\n\n{lead}\n\n"
            f"Add the programme to your calendar (it follows every change):\n{link.calendar_url}\n\n"
            f"Manage or cancel your registration:\n{link.manage_url}\n"
        )
    elif row.status == "waitlisted":
        subject = f"On the waiting list: {training.title}"
        text = (
            f"Dear {row.name},\n\n{training.title}, {when}, is full. You are number "
            f"{position} on the waiting list; we will write as soon as a seat is yours.\n\n"
            f"Manage or cancel your registration:\n{link.manage_url}\n"
        )
    elif row.status == "pending":
        subject = f"Registration received: {training.title}"
        text = (
            f"Dear {row.name},\n\nThe organisers of {training.title}, {when}, review each "
            f"registration; we will write when yours is decided.\n\n"
            f"Manage or cancel your registration:\n{link.manage_url}\n"
        )
    elif row.status == "declined":
        subject = f"Registration declined: {training.title}"
        text = (
            f"Dear {row.name},\n\nWe are sorry: the organisers of {training.title}, {when}, "
            f"could not offer you a seat this time.\n"
        )
    else:
        subject = f"Registration cancelled: {training.title}"
        text = (
            f"Dear {row.name},\n\nYour registration for {training.title}, {when}, is cancelled.\n"
        )
    return Mail(to=row.email, subject=subject, text=text)


async def get_registration(uow: UnitOfWork, registration_id: str) -> RegistrationRow:
    row = (
        await uow.session.exec(select(RegistrationRow).where(RegistrationRow.id == registration_id))
    ).first()
    if row is None:
        raise Problem(404, f"no registration {registration_id}")
    return row


async def authorise(
    uow: UnitOfWork, row: RegistrationRow, staff: Staff | None, manage_token: str | None
) -> None:
    """The owner (by manage token) or staff of the host country; others learn nothing (404)."""
    if manage_token is not None and tokens.matches(manage_token, row.manage_token_sha256):
        return
    if staff is not None:
        training = await uow.session.get(TrainingRow, row.training_id)
        if training is not None and staff.may_manage(training.host_country):
            return
        if training is not None:
            from litestar.exceptions import PermissionDeniedException

            raise PermissionDeniedException(
                detail="your token does not cover this training's country"
            )
    raise Problem(404, f"no registration {row.id}")


def _touch(row: RegistrationRow) -> None:
    row.revision += 1
    row.updated_at = clock.now()


async def cancel(uow: UnitOfWork, settings: Settings, row: RegistrationRow) -> RegistrationRow:
    if row.status not in domain.ACTIVE:
        raise Problem(409, f"this registration is already {row.status}")
    training = await training_for_update(uow, row.training_id)
    was = row.status
    row.status = "cancelled"
    row.waitlist_reason = None
    _touch(row)
    uow.session.add(row)
    participant = await uow.session.get(ParticipantRow, row.participant_id)
    assert participant is not None
    uow.emit(_event(row))
    uow.send_mail(status_mail(settings, training, row, participant))
    if was == "confirmed":
        await _free_seat(uow, training.id)
        await promote(uow, settings, training.id)
    return row


async def promote(uow: UnitOfWork, settings: Settings, training_id: str) -> list[RegistrationRow]:
    """Give free seats to the waitlist in arrival order, skipping those over their quota."""
    promoted: list[RegistrationRow] = []
    waiting = list(
        await uow.session.exec(
            select(RegistrationRow)
            .where(RegistrationRow.training_id == training_id)
            .where(RegistrationRow.status == "waitlisted")
            .order_by(col(RegistrationRow.arrival))
        )
    )
    for row in waiting:
        if not await _within_quota(uow, training_id, row.country):
            continue
        if not await _take_seat(uow, training_id):
            break
        row.status = "confirmed"
        row.waitlist_reason = None
        _touch(row)
        uow.session.add(row)
        await uow.session.flush()
        training = await uow.session.get(TrainingRow, training_id)
        participant = await uow.session.get(ParticipantRow, row.participant_id)
        assert training is not None and participant is not None
        uow.emit(_event(row))
        uow.send_mail(status_mail(settings, training, row, participant, promoted=True))
        promoted.append(row)
    return promoted


async def check_in(uow: UnitOfWork, row: RegistrationRow) -> RegistrationRow:
    training = await training_for_update(uow, row.training_id)
    domain.check_in_allowed(
        row.status, training.status, training.starts_on, training.timezone, clock.now()
    )
    if row.checked_in_at is not None:
        return row
    row.checked_in_at = clock.now()
    _touch(row)
    uow.session.add(row)
    uow.emit(
        ev.RegistrationCheckedIn(
            id=row.id,
            revision=row.revision,
            training_id=row.training_id,
            participant_id=row.participant_id,
            status=row.status,
            name=row.name,
            email=row.email,
            language=training.language,
        )
    )
    return row


async def undo_check_in(uow: UnitOfWork, row: RegistrationRow) -> RegistrationRow:
    if row.checked_in_at is None:
        return row
    row.checked_in_at = None
    _touch(row)
    uow.session.add(row)
    uow.emit(
        ev.RegistrationCheckInUndone(
            id=row.id,
            revision=row.revision,
            training_id=row.training_id,
            participant_id=row.participant_id,
        )
    )
    return row
