"""What participants and staff do to registrations; each command runs in one unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

import msgspec
from litestar.exceptions import PermissionDeniedException
from sqlalchemy import delete, func, insert, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.registration import domain, mails
from services.registration.schemas import Needs, RegisteredOut, RegistrationIn, RegistrationOut
from services.registration.tables import (
    ParticipantRow,
    QuotaRow,
    RegistrationRow,
    TrainingRow,
    participant,
    quota,
    registration,
    training,
)
from shared import tokens
from shared.auth import Staff
from shared.clock import clock
from shared.countries import UnknownCountry, category
from shared.db import UnitOfWork
from shared.events import contracts as ev
from shared.problems import Problem
from shared.settings import Settings


class TrainingFacts(Protocol):
    """What mails and windows need of a training: an ORM row or a Core row alike."""

    id: str
    title: str
    city: str
    host_country: str
    starts_on: date
    timezone: str
    status: str
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None


# --- links -------------------------------------------------------------------


def manage_token(settings: Settings, registration_id: str) -> str:
    return tokens.derive(settings.secret, "manage", registration_id, 1)


def manage_url(settings: Settings, registration_id: str) -> str:
    token = manage_token(settings, registration_id)
    return f"{settings.public_url('registration')}/manage/{token}"


def feed_token(settings: Settings, participant_id: str, generation: int) -> str:
    return tokens.derive(settings.secret, "feed", participant_id, generation)


def calendar_url(settings: Settings, participant_id: str, generation: int) -> str:
    token = feed_token(settings, participant_id, generation)
    return f"{settings.public_url('scheduling')}/calendars/{token}.ics"


def about(
    settings: Settings,
    training_row: TrainingFacts,
    *,
    name: str,
    email: str,
    registration_id: str,
    participant_id: str,
    generation: int,
) -> mails.About:
    return mails.About(
        name=name,
        email=email,
        title=training_row.title,
        starts_on=training_row.starts_on,
        city=training_row.city,
        manage_url=manage_url(settings, registration_id),
        calendar_url=calendar_url(settings, participant_id, generation),
    )


def window(training_row: TrainingFacts) -> domain.Window:
    return domain.Window(
        opens_at=training_row.registration_opens_at,
        closes_at=training_row.registration_closes_at,
        status=training_row.status,
        starts_on=training_row.starts_on,
        timezone=training_row.timezone,
    )


# --- reading -----------------------------------------------------------------


def registration_out(
    values: Any,
    position: int | None,
    cls: type[RegistrationOut] = RegistrationOut,
    **extra: Any,
) -> RegistrationOut:
    """The API view of a registration row (ORM row or dict of its columns)."""
    get: Callable[[str], Any] = (
        values.get if isinstance(values, Mapping) else values.__getattribute__
    )
    needs = get("needs")
    return cls(
        id=get("id"),
        training_id=get("training_id"),
        participant_id=get("participant_id"),
        status=get("status"),
        name=get("name"),
        email=get("email"),
        organisation=get("organisation"),
        position=get("position"),
        country=get("country"),
        category=get("category"),
        needs=msgspec.convert(needs, Needs) if needs else None,
        waitlist_position=position,
        waitlist_reason=get("waitlist_reason"),
        checked_in=get("checked_in_at") is not None,
        created_at=get("created_at"),
        updated_at=get("updated_at"),
        **extra,
    )


async def waitlist_position(session: AsyncSession, row: RegistrationRow) -> int | None:
    if row.status != "waitlisted":
        return None
    ahead = await session.exec(
        select(func.count())
        .select_from(RegistrationRow)
        .where(RegistrationRow.training_id == row.training_id)
        .where(RegistrationRow.status == "waitlisted")
        .where(col(RegistrationRow.arrival) < row.arrival)
    )
    return int(ahead.one()) + 1


async def waitlist_of(session: AsyncSession, training_id: str) -> dict[str, int]:
    """Registration id -> place on the training's waitlist, in one query."""
    waiting = await session.exec(
        select(RegistrationRow.id)
        .where(RegistrationRow.training_id == training_id)
        .where(RegistrationRow.status == "waitlisted")
        .order_by(col(RegistrationRow.arrival))
    )
    return domain.waitlist_positions(waiting)


async def get_registration(session: AsyncSession, registration_id: str) -> RegistrationRow:
    row = (
        await session.exec(select(RegistrationRow).where(RegistrationRow.id == registration_id))
    ).first()
    if row is None:
        raise Problem(404, f"no registration {registration_id}")
    return row


async def by_manage_token(session: AsyncSession, token: str) -> RegistrationRow | None:
    """The registration this manage token opens, compared in constant time."""
    if not token or len(token) > 100:
        return None
    row = (
        await session.exec(
            select(RegistrationRow).where(
                RegistrationRow.manage_token_sha256 == tokens.digest(token)
            )
        )
    ).first()
    if row is None or row.erased_at is not None:
        return None
    if not tokens.matches(token, row.manage_token_sha256):
        return None
    return row


async def authorise(
    session: AsyncSession, row: RegistrationRow, staff: Staff | None, token: str | None
) -> None:
    """The owner (by manage token) or staff of the host country. A wrong or missing token
    learns nothing (404); staff of another country are told they may not (403)."""
    if (
        token is not None
        and row.erased_at is None
        and tokens.matches(token, row.manage_token_sha256)
    ):
        return
    if staff is not None:
        training_row = await session.get(TrainingRow, row.training_id)
        if training_row is not None and staff.may_manage(training_row.host_country):
            return
        if token is None:
            raise PermissionDeniedException(
                detail="your token does not cover this training's host country"
            )
    raise Problem(404, f"no registration {row.id}")


async def training_for_update(uow: UnitOfWork, training_id: str) -> TrainingRow:
    """The catalogue row, locked on PostgreSQL so seat changes of one training queue up."""
    row = (
        await uow.session.exec(
            select(TrainingRow)
            .where(TrainingRow.id == training_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).first()
    if row is None:
        raise Problem(404, f"no training {training_id} open for registration", field="training_id")
    return row


async def locked(uow: UnitOfWork, registration_id: str) -> tuple[RegistrationRow, TrainingRow]:
    """The registration, read again after its training's row lock is held."""
    training_id = (
        await uow.session.exec(
            select(RegistrationRow.training_id).where(RegistrationRow.id == registration_id)
        )
    ).first()
    if training_id is None:
        raise Problem(404, f"no registration {registration_id}")
    training_row = await training_for_update(uow, training_id)
    row = (
        await uow.session.exec(
            select(RegistrationRow)
            .where(RegistrationRow.id == registration_id)
            .execution_options(populate_existing=True)
        )
    ).one()
    return row, training_row


async def seats_of(uow: UnitOfWork, training_id: str) -> domain.Seats:
    """The training's seats as committed, read under its lock."""
    capacity, taken = (
        await uow.execute(
            select(training.c.capacity, training.c.taken).where(training.c.id == training_id)
        )
    ).one()
    quotas = {
        country: maximum
        for country, maximum in await uow.execute(
            select(quota.c.country, quota.c.maximum).where(quota.c.training_id == training_id)
        )
    }
    confirmed: dict[str, int] = {}
    if quotas:
        confirmed = {
            country: count
            for country, count in await uow.execute(
                select(registration.c.country, func.count())
                .where(registration.c.training_id == training_id)
                .where(registration.c.status == "confirmed")
                .group_by(registration.c.country)
            )
        }
    waitlisted = (
        await uow.execute(
            select(func.count())
            .select_from(registration)
            .where(registration.c.training_id == training_id)
            .where(registration.c.status == "waitlisted")
        )
    ).scalar_one()
    return domain.Seats(
        capacity=capacity,
        taken=taken,
        quotas=quotas,
        confirmed_by_country=confirmed,
        waitlisted=waitlisted,
    )


async def _move_seats(uow: UnitOfWork, training_id: str, delta: int) -> None:
    """Change the seat count; the conditions make an overbooking fail loudly, never pass."""
    if delta == 0:
        return
    statement = update(training).where(training.c.id == training_id)
    if delta > 0:
        statement = statement.where(training.c.taken + delta <= training.c.capacity)
    else:
        statement = statement.where(training.c.taken + delta >= 0)
    result = await uow.execute(statement.values(taken=training.c.taken + delta))
    if result.rowcount != 1:
        raise RuntimeError(f"seat count of training {training_id} cannot move by {delta}")


# --- registering ---------------------------------------------------------------


@dataclass(frozen=True)
class NewRegistration:
    """A registration as submitted, checked for shape and country before it is queued."""

    training_id: str
    data: RegistrationIn
    staff: Staff | None


def check_submission(data: RegistrationIn) -> None:
    """The rules that need no database: consent and a known country (422, naming the field)."""
    if not data.consent:
        raise Problem(422, "consent to the processing of your data is required", field="consent")
    try:
        category(data.country, clock.now().date())
    except UnknownCountry:
        raise Problem(
            422, f"{data.country!r} is not a known country code", field="country"
        ) from None
    if not data.name.strip():
        raise Problem(422, "name must not be blank", field="name")
    if not data.organisation.strip():
        raise Problem(422, "organisation must not be blank", field="organisation")


ALREADY_REGISTERED = (
    "this e-mail address is already registered for this training: we have sent your links "
    "(to see, change or cancel the registration) to it again"
)


async def register_batch(
    settings: Settings, uow: UnitOfWork, batch: Sequence[NewRegistration]
) -> list[RegisteredOut | Problem]:
    """Decide a batch of registrations in arrival order, in one transaction.

    Every training in the batch is locked first (in id order, so two writers cannot
    deadlock); counts are read once; each decision then updates the in-memory seats, so a
    later registration in the batch sees the earlier ones. Rows are written with one
    statement per table, and seat counters move by one conditional UPDATE per training.
    """
    now = clock.now()
    # Lock first, then read the counts in a later statement: on PostgreSQL a statement
    # that waited for a lock still sees the data of when it began.
    training_ids = sorted({item.training_id for item in batch})
    trainings = {
        row.id: row
        for row in await uow.execute(
            select(training)
            .where(training.c.id.in_(_padded(training_ids)))
            .order_by(training.c.id)
            .with_for_update()
        )
    }
    seats = await _seats_for_batch(uow, trainings)
    emails = sorted({domain.normalise_email(item.data.email) for item in batch})
    people: dict[str, Any] = {}
    held: set[tuple[str, str]] = set()
    for row in await uow.execute(
        select(
            participant.c.id,
            participant.c.email,
            participant.c.feed_generation,
            registration.c.training_id,
        )
        .outerjoin(
            registration,
            (registration.c.participant_id == participant.c.id)
            & registration.c.training_id.in_(_padded(list(trainings) or [""]))
            & registration.c.status.in_(domain.ACTIVE),
        )
        .where(participant.c.email.in_(_padded(emails)))
    ):
        people[row.email] = row
        if row.training_id is not None:
            held.add((row.training_id, row.id))

    new_people: list[dict[str, Any]] = []
    new_rows: list[dict[str, Any]] = []
    results: list[RegisteredOut | Problem] = []
    links_again: set[str] = set()
    for item in batch:
        training_row = trainings.get(item.training_id)
        if training_row is None:
            results.append(
                Problem(
                    404,
                    f"no training {item.training_id} open for registration",
                    field="training_id",
                )
            )
            continue
        data = item.data
        staff = item.staff
        by_staff = staff is not None and staff.may_manage(training_row.host_country)
        try:
            domain.check_open(window(training_row), now, by_staff=by_staff)
        except Problem as problem:
            results.append(problem)
            continue
        email = domain.normalise_email(data.email)
        person = people.get(email)
        if person is None:
            person = _new_participant(settings, uow, email, data.name, now)
            people[email] = person
            new_people.append(person._asdict())
        if (training_row.id, person.id) in held:
            # The answer must not tell who holds the address, nor echo it: the links go
            # to the address itself, so only its owner learns them.
            results.append(Problem(409, ALREADY_REGISTERED, field="email"))
            links_again.add(email)
            continue
        held.add((training_row.id, person.id))
        admission = seats[training_row.id].admit(
            data.country.upper(), moderated=training_row.moderated and not by_staff
        )
        values, answer = _record(settings, uow, training_row, person, data, admission, now)
        new_rows.append(values)
        results.append(answer)

    if new_people:
        await uow.execute(insert(participant), new_people)
    if new_rows:
        await uow.execute(insert(registration), new_rows)
    for training_id, ledger in seats.items():
        await _move_seats(uow, training_id, ledger.taken - trainings[training_id].taken)
    # After the inserts, so that a registration made earlier in this batch is found too.
    for email in sorted(links_again):
        await mail_links(uow, settings, email)
    return results


def _record(
    settings: Settings,
    uow: UnitOfWork,
    training_row: Any,
    person: Any,
    data: RegistrationIn,
    admission: domain.Admission,
    now: datetime,
) -> tuple[dict[str, Any], RegisteredOut]:
    """The new registration's row, its event and its mail, and the answer to the caller."""
    registration_id = str(uuid.uuid4())
    token = manage_token(settings, registration_id)
    email = domain.normalise_email(data.email)
    values: dict[str, Any] = {
        "id": registration_id,
        "training_id": training_row.id,
        "participant_id": person.id,
        "name": data.name.strip(),
        "email": email,
        "organisation": data.organisation.strip(),
        "position": data.position.strip() if data.position else None,
        "country": data.country.upper(),
        "category": category(data.country, training_row.starts_on),
        "needs": msgspec.to_builtins(data.needs) if data.needs else None,
        "consent_at": now,
        "status": admission.status,
        "waitlist_reason": admission.reason,
        "manage_token_sha256": tokens.digest(token),
        "checked_in_at": None,
        "revision": 1,
        "created_at": now,
        "updated_at": now,
        "erased_at": None,
    }
    uow.emit(
        ev.REGISTRATION_STATUS_EVENTS[admission.status](
            id=registration_id,
            revision=1,
            training_id=training_row.id,
            participant_id=person.id,
            status=admission.status,
            waitlist_position=admission.position,
        )
    )
    told = mails.About(
        name=values["name"],
        email=email,
        title=training_row.title,
        starts_on=training_row.starts_on,
        city=training_row.city,
        manage_url=f"{settings.public_url('registration')}/manage/{token}",
        calendar_url=calendar_url(settings, person.id, person.feed_generation),
    )
    uow.send_mail(_status_mail(told, admission.status, admission.position, admission.reason))
    answer = registration_out(
        values,
        admission.position,
        RegisteredOut,
        manage_token=token,
        manage_url=told.manage_url,
        calendar_url=told.calendar_url,
    )
    return values, answer  # type: ignore[return-value]


def _padded(values: Sequence[str]) -> list[str]:
    """The values, the last repeated up to a power of two: an IN list of a few lengths only,
    so PostgreSQL reuses its prepared statements instead of preparing one per batch size."""
    if not values:
        return []
    size = 1
    while size < len(values):
        size *= 2
    return [*values, *[values[-1]] * (size - len(values))]


async def _seats_for_batch(
    uow: UnitOfWork, trainings: Mapping[str, Any]
) -> dict[str, domain.Seats]:
    """The locked trainings' seats: one statement, and one more only where quotas exist."""
    if not trainings:
        return {}
    waitlisted = (
        select(func.count())
        .select_from(registration)
        .where(registration.c.training_id == training.c.id)
        .where(registration.c.status == "waitlisted")
        .scalar_subquery()
    )
    quota_count = (
        select(func.count())
        .select_from(quota)
        .where(quota.c.training_id == training.c.id)
        .scalar_subquery()
    )
    counts = {
        row.id: row
        for row in await uow.execute(
            select(
                training.c.id, waitlisted.label("waitlisted"), quota_count.label("quotas")
            ).where(training.c.id.in_(_padded(list(trainings))))
        )
    }
    quotas: dict[str, dict[str, int]] = {}
    confirmed: dict[str, dict[str, int]] = {}
    with_quotas = [training_id for training_id, row in counts.items() if row.quotas]
    if with_quotas:
        for row in await uow.execute(select(quota).where(quota.c.training_id.in_(with_quotas))):
            quotas.setdefault(row.training_id, {})[row.country] = row.maximum
        for training_id, country, count in await uow.execute(
            select(registration.c.training_id, registration.c.country, func.count())
            .where(registration.c.training_id.in_(with_quotas))
            .where(registration.c.status == "confirmed")
            .group_by(registration.c.training_id, registration.c.country)
        ):
            confirmed.setdefault(training_id, {})[country] = count
    return {
        training_id: domain.Seats(
            capacity=row.capacity,
            taken=row.taken,
            quotas=quotas.get(training_id, {}),
            confirmed_by_country=confirmed.get(training_id, {}),
            waitlisted=counts[training_id].waitlisted,
        )
        for training_id, row in trainings.items()
    }


@dataclass(frozen=True)
class _Person:
    id: str
    email: str
    feed_generation: int
    name: str
    feed_token_sha256: str
    revision: int
    created_at: datetime
    erased_at: datetime | None

    def _asdict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _new_participant(
    settings: Settings, uow: UnitOfWork, email: str, name: str, now: datetime
) -> _Person:
    person_id = str(uuid.uuid4())
    person = _Person(
        id=person_id,
        email=email,
        feed_generation=1,
        name=name.strip(),
        feed_token_sha256=tokens.digest(feed_token(settings, person_id, 1)),
        revision=1,
        created_at=now,
        erased_at=None,
    )
    uow.emit(
        ev.ParticipantFeedTokenSet(
            id=person_id, revision=1, feed_token_sha256=person.feed_token_sha256
        )
    )
    return person


def _status_mail(
    told: mails.About, status: str, position: int | None = None, reason: str | None = None
) -> mails.Mail:
    if status == "confirmed":
        return mails.confirmed(told)
    if status == "waitlisted":
        return mails.waitlisted(told, position, reason)
    if status == "pending":
        return mails.pending(told)
    if status == "declined":
        return mails.declined(told)
    return mails.cancelled(told)


# --- changing one registration -------------------------------------------------


def _touch(row: RegistrationRow) -> None:
    row.revision += 1
    row.updated_at = clock.now()


async def _announce(
    uow: UnitOfWork,
    settings: Settings,
    training_row: TrainingRow,
    row: RegistrationRow,
    *,
    position: int | None = None,
    mail: mails.Mail | None = None,
) -> None:
    """Emit the registration's new status and mail the participant about it."""
    uow.emit(
        ev.REGISTRATION_STATUS_EVENTS[row.status](
            id=row.id,
            revision=row.revision,
            training_id=row.training_id,
            participant_id=row.participant_id,
            status=row.status,
            waitlist_position=position,
        )
    )
    if row.erased_at is not None:
        return
    if mail is None:
        told = await _about_row(uow, settings, training_row, row)
        mail = _status_mail(told, row.status, position, row.waitlist_reason)
    uow.send_mail(mail)


async def _about_row(
    uow: UnitOfWork, settings: Settings, training_row: TrainingFacts, row: RegistrationRow
) -> mails.About:
    person = await uow.session.get(ParticipantRow, row.participant_id)
    generation = person.feed_generation if person is not None else 1
    return about(
        settings,
        training_row,
        name=row.name,
        email=row.email,
        registration_id=row.id,
        participant_id=row.participant_id,
        generation=generation,
    )


async def cancel(
    uow: UnitOfWork, settings: Settings, row: RegistrationRow, training_row: TrainingRow
) -> RegistrationRow:
    if row.status not in domain.ACTIVE:
        raise Problem(409, f"this registration is already {row.status}")
    was = row.status
    row.status = "cancelled"
    row.waitlist_reason = None
    _touch(row)
    uow.session.add(row)
    await _announce(uow, settings, training_row, row)
    if was == "confirmed":
        await uow.session.flush()
        await _move_seats(uow, training_row.id, -1)
        await promote(uow, settings, training_row)
    return row


async def approve(
    uow: UnitOfWork, settings: Settings, row: RegistrationRow, training_row: TrainingRow
) -> RegistrationRow:
    """A pending registration gets a seat if one is left within its quota, else waits."""
    if row.status != "pending":
        raise Problem(409, f"only a pending registration can be approved; this one is {row.status}")
    seats = await seats_of(uow, training_row.id)
    admission = seats.seat_or_wait(row.country)
    row.status, row.waitlist_reason = admission.status, admission.reason
    _touch(row)
    uow.session.add(row)
    await uow.session.flush()
    position = None
    if admission.status == "confirmed":
        await _move_seats(uow, training_row.id, +1)
    else:
        # An approved registration waits in arrival order, which may be ahead of others.
        position = await waitlist_position(uow.session, row)
    await _announce(uow, settings, training_row, row, position=position)
    return row


async def decline(
    uow: UnitOfWork, settings: Settings, row: RegistrationRow, training_row: TrainingRow
) -> RegistrationRow:
    """Organisers may decline any active registration; a freed seat goes to the waitlist."""
    if row.status not in domain.ACTIVE:
        raise Problem(409, f"this registration is already {row.status}")
    was = row.status
    row.status, row.waitlist_reason = "declined", None
    _touch(row)
    uow.session.add(row)
    await _announce(uow, settings, training_row, row)
    if was == "confirmed":
        await uow.session.flush()
        await _move_seats(uow, training_row.id, -1)
        await promote(uow, settings, training_row)
    return row


async def promote(
    uow: UnitOfWork, settings: Settings, training_row: TrainingRow
) -> list[RegistrationRow]:
    """Give free seats to the waitlist in arrival order, skipping anyone over their quota."""
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
        row.status, row.waitlist_reason = "confirmed", None
        _touch(row)
        uow.session.add(row)
        told = await _about_row(uow, settings, training_row, row)
        await _announce(uow, settings, training_row, row, mail=mails.promoted(told))
    await uow.session.flush()
    await _move_seats(uow, training_row.id, len(promoted))
    return promoted


async def check_in(
    uow: UnitOfWork, row: RegistrationRow, training_row: TrainingRow
) -> RegistrationRow:
    domain.check_in_allowed(
        row.status,
        training_row.status,
        training_row.starts_on,
        training_row.timezone,
        clock.now(),
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
            language=training_row.language,
        ),
        person=row.participant_id,
    )
    return row


async def undo_check_in(
    uow: UnitOfWork, row: RegistrationRow, training_row: TrainingRow
) -> RegistrationRow:
    if training_row.status != "published":
        raise Problem(409, f"check-in is closed: the training is {training_row.status}")
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


async def set_quotas(
    uow: UnitOfWork, settings: Settings, training_row: TrainingRow, quotas: Mapping[str, int]
) -> dict[str, int]:
    """Replace the training's quotas; seats a raised quota frees go to the waitlist at once."""
    await uow.execute(delete(quota).where(quota.c.training_id == training_row.id))
    if quotas:
        await uow.execute(
            insert(quota),
            [
                {"training_id": training_row.id, "country": country, "maximum": maximum}
                for country, maximum in sorted(quotas.items())
            ],
        )
    await promote(uow, settings, training_row)
    return dict(sorted(quotas.items()))


async def quotas_of(session: AsyncSession, training_id: str) -> dict[str, int]:
    rows = await session.exec(
        select(QuotaRow).where(QuotaRow.training_id == training_id).order_by(col(QuotaRow.country))
    )
    return {row.country: row.maximum for row in rows}


# --- the participant's links ---------------------------------------------------


async def renew_calendar_link(uow: UnitOfWork, settings: Settings, participant_id: str) -> str:
    """A new calendar link; the old one stops working once scheduling has the new hash."""
    person = (
        await uow.session.exec(
            select(ParticipantRow)
            .where(ParticipantRow.id == participant_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).first()
    if person is None or person.erased_at is not None:
        raise Problem(404, "no participant for this registration")
    person.feed_generation += 1
    person.revision += 1
    person.feed_token_sha256 = tokens.digest(
        feed_token(settings, person.id, person.feed_generation)
    )
    uow.session.add(person)
    uow.emit(
        ev.ParticipantFeedTokenSet(
            id=person.id, revision=person.revision, feed_token_sha256=person.feed_token_sha256
        )
    )
    return calendar_url(settings, person.id, person.feed_generation)


async def participant_calendar_url(
    session: AsyncSession, settings: Settings, participant_id: str
) -> str | None:
    person = await session.get(ParticipantRow, participant_id)
    if person is None or person.erased_at is not None:
        return None
    return calendar_url(settings, person.id, person.feed_generation)


async def mail_links(uow: UnitOfWork, settings: Settings, email: str) -> bool:
    """Mail a known address its manage links and calendar link; say nothing otherwise."""
    address = domain.normalise_email(email)
    person = (
        await uow.session.exec(select(ParticipantRow).where(ParticipantRow.email == address))
    ).first()
    if person is None or person.erased_at is not None:
        return False
    rows = await uow.session.exec(
        select(RegistrationRow, TrainingRow)
        .join(TrainingRow, col(TrainingRow.id) == RegistrationRow.training_id)
        .where(RegistrationRow.participant_id == person.id)
        .where(col(RegistrationRow.status).in_(domain.ACTIVE))
        .order_by(col(TrainingRow.starts_on))
    )
    held = [
        about(
            settings,
            training_row,
            name=row.name,
            email=address,
            registration_id=row.id,
            participant_id=person.id,
            generation=person.feed_generation,
        )
        for row, training_row in rows
    ]
    uow.send_mail(
        mails.links(
            person.name,
            address,
            calendar_url(settings, person.id, person.feed_generation),
            held,
        )
    )
    return True


# --- scheduling's news -----------------------------------------------------------


async def cancel_training(
    uow: UnitOfWork, settings: Settings, training_row: TrainingRow, reason: str | None
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
        row.status, row.waitlist_reason = "cancelled", None
        _touch(row)
        uow.session.add(row)
        told = await _about_row(uow, settings, training_row, row)
        await _announce(
            uow, settings, training_row, row, mail=mails.training_cancelled(told, reason)
        )
        count += 1
    training_row.taken = 0
    return count


def statuses(values: Iterable[str]) -> list[str]:
    unknown = sorted(set(values) - set(domain.STATUSES))
    if unknown:
        raise Problem(
            422,
            f"unknown status {unknown[0]!r}; one of {', '.join(domain.STATUSES)}",
            field="status",
        )
    return list(values)
