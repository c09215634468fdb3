"""Registering: a batch of submissions decided in arrival order in one transaction, each
answered with its registration or the error its caller gets."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import insert
from sqlmodel import select

from services.registration import (
    domain,
    links,
    mails,
    nominations,
    participant_links,
    sessions,
    views,
)
from services.registration.membership import category
from services.registration.schemas import RegisteredOut, RegistrationIn
from services.registration.seats import move_seats, padded, seats_for_batch
from services.registration.tables import participant, registration, training
from shared import audit, i18n, languages, tokens, tracing
from shared.audit import Target
from shared.clock import clock
from shared.db import UnitOfWork
from shared.errors import Conflict, DomainError, Invalid, NotFound
from shared.events import contracts as ev
from shared.mail import Attachment
from shared.settings import Settings
from shared.staff import Staff


@dataclass(frozen=True)
class Register:
    """A registration as submitted, checked for shape and country before it is queued."""

    training_id: str
    data: RegistrationIn
    who: Staff | None
    # A nominee taking the place offered to them (nominations.py): the public form of a
    # training by nomination is closed to everyone else but staff.
    nomination_id: str | None = None
    # The submitting request's trace context (none when tracing is off): the writer task
    # applies the item outside that request.
    trace: dict[str, str] = field(default_factory=tracing.carrier, compare=False)


def check_submission(data: RegistrationIn) -> None:
    """The rules that need no database, checked before a submission is queued."""
    domain.check_submission(data, clock.now().date())


def in_language(
    data: RegistrationIn, offered: Sequence[str], accept_language: str | None
) -> RegistrationIn:
    """The registration with the language its mails are written in: the one asked for,
    which must be offered (CAPITALS_LANGUAGES), else the best match of Accept-Language."""
    if data.language is None:
        return msgspec.structs.replace(
            data, language=languages.best_match(accept_language or "", offered) or i18n.DEFAULT
        )
    if data.language not in offered:
        raise Invalid(f"language must be one of {', '.join(offered)}", field="language")
    return data


BY_NOMINATION = (
    "this training is by nomination: participants are named by their country's national focal point"
)

ALREADY_REGISTERED = (
    "this e-mail address is already registered for this training: we have sent your links "
    "(to see, change or cancel the registration) to it again"
)


async def register_batch(
    uow: UnitOfWork, settings: Settings, batch: Sequence[Register]
) -> list[RegisteredOut | DomainError]:
    """Decide a batch of registrations in arrival order, in one transaction.

    The one command that takes no single `who`: each item carries its own. Every training in
    the batch is locked first (in id order, so two writers cannot
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
            .where(training.c.id.in_(padded(training_ids)))
            .order_by(training.c.id)
            .with_for_update()
        )
    }
    seats = await seats_for_batch(uow, trainings)
    # The calendar a confirmation mail carries, built once a batch and only for a training
    # that confirms someone in it: a waitlisted or pending answer carries none.
    calendars: dict[str, Attachment | None] = {}

    def calendar_for(training_row: Any, status: str) -> Attachment | None:
        if status != "confirmed":
            return None
        if training_row.id not in calendars:
            calendars[training_row.id] = sessions.calendar_of(settings, training_row)
        return calendars[training_row.id]

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
            & registration.c.training_id.in_(padded(list(trainings) or [""]))
            & registration.c.status.in_(domain.ACTIVE),
        )
        .where(participant.c.email.in_(padded(emails)))
    ):
        people[row.email] = row
        if row.training_id is not None:
            held.add((row.training_id, row.id))

    new_people: list[dict[str, Any]] = []
    new_rows: list[dict[str, Any]] = []
    results: list[RegisteredOut | DomainError] = []
    links_again: set[str] = set()
    for item in batch:
        # In the trace of the request that submitted it: its events continue that trace.
        with tracing.resumed(item.trace):
            training_row = trainings.get(item.training_id)
            if training_row is None:
                results.append(
                    NotFound(
                        f"no training {item.training_id} open for registration", field="training_id"
                    )
                )
                continue
            data = item.data
            staff = item.who
            by_staff = staff is not None and staff.may_manage(training_row.host_country)
            nominee = None
            try:
                if item.nomination_id is not None:
                    nominee = await nominations.claim(uow, item.nomination_id, training_row.id)
                elif training_row.by_nomination and not by_staff:
                    raise Conflict(BY_NOMINATION, field="training")
                # A nominee may take their place after the window, as staff may register.
                domain.check_open(
                    domain.window_of(training_row), now, by_staff=by_staff or nominee is not None
                )
            except DomainError as refusal:
                results.append(refusal)
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
                results.append(Conflict(ALREADY_REGISTERED, field="email"))
                links_again.add(email)
                continue
            held.add((training_row.id, person.id))
            admission = seats[training_row.id].admit(
                data.country.upper(), moderated=training_row.moderated and not by_staff
            )
            values, answer = _new_registration(
                settings,
                uow,
                training_row,
                person,
                data,
                admission,
                now,
                calendar_for(training_row, admission.status),
            )
            new_rows.append(values)
            results.append(answer)
            if nominee is not None:
                await nominations.mark_registered(uow, nominee, values["id"], now)
            if staff is not None:
                # A walk-in, by id: the name and address stay in the registration.
                target = Target(
                    "registration",
                    values["id"],
                    training_row.id,
                    training_row.host_country,
                    {"status": values["status"], "country": values["country"]},
                    person=person.id,
                )
                audit.record(uow, staff.sub, staff.role, "registration.registered", target)

    if new_people:
        await uow.execute(insert(participant), new_people)
    if new_rows:
        await uow.execute(insert(registration), new_rows)
    for training_id, ledger in seats.items():
        await move_seats(uow, training_id, ledger.taken - trainings[training_id].taken)
    # After the inserts, so that a registration made earlier in this batch is found too.
    for email in sorted(links_again):
        await participant_links.mail_links(uow, settings, None, email)
    return results


def _new_registration(
    settings: Settings,
    uow: UnitOfWork,
    training_row: Any,
    person: Any,
    data: RegistrationIn,
    admission: domain.Admission,
    now: datetime,
    calendar: Attachment | None,
) -> tuple[dict[str, Any], RegisteredOut]:
    """The new registration's row, its event and its mail, and the answer to the caller."""
    registration_id = str(uuid.uuid4())
    token = links.manage_token(settings, registration_id)
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
        "language": data.language or i18n.DEFAULT,
        "category": category(data.country, training_row.starts_on),
        "needs": msgspec.to_builtins(data.needs) if data.needs else None,
        "consent_at": now,
        "status": admission.status,
        "waitlist_reason": admission.reason,
        "manage_token_sha256": tokens.digest(token),
        "check_in_code": domain.new_check_in_code(),
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
    facts = mails.MailFacts(
        name=values["name"],
        email=email,
        title=training_row.title,
        starts_on=training_row.starts_on,
        city=training_row.city,
        manage_url=f"{settings.public_url('registration')}/manage/{token}",
        calendar_url=links.calendar_url(settings, person.id, person.feed_generation),
        calendar=calendar,
        language=values["language"],
    )
    uow.send_mail(mails.status_mail(facts, admission.status, admission.position, admission.reason))
    answer = views.registration_out(
        values,
        admission.position,
        RegisteredOut,
        manage_token=token,
        manage_url=facts.manage_url,
        calendar_url=facts.calendar_url,
    )
    return values, answer  # type: ignore[return-value]


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
        feed_token_sha256=tokens.digest(links.feed_token(settings, person_id, 1)),
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
