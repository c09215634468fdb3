"""Invitation letters for visa applications: the participant's request, the host country's
decision, the training's letterhead; and the letters' end (with the person, or 30 days
after the training). The passport details are sealed at rest (sealing.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

import msgspec
from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.registration import mails, sealing, visa
from services.registration.mails import letter_decided
from services.registration.schemas import LetterheadOut, LetterOut
from services.registration.seats import locked
from services.registration.tables import LetterheadRow, RegistrationRow, TrainingRow, VisaLetterRow
from shared.audit import Target, audited
from shared.clock import clock
from shared.commands import OneRegistration
from shared.db import Database, UnitOfWork
from shared.errors import Invalid, NotFound
from shared.events import contracts as ev
from shared.settings import Settings
from shared.staff import Staff
from shared.structs import carried

# Passport details are kept this long after the training's last day.
LETTER_RETENTION = timedelta(days=30)


@dataclass(frozen=True)
class RequestLetter(OneRegistration):
    details: Mapping[str, object]


@dataclass(frozen=True)
class DecideLetter(OneRegistration):
    verdict: str  # visa.APPROVED or visa.DECLINED


@dataclass(frozen=True)
class SetLetterhead:
    training_id: str
    ministry: str
    signatory_name: str
    signatory_title: str


def details_of(settings: Settings, letter: VisaLetterRow) -> visa.PassportDetails:
    plain = sealing.unseal(settings.secret, letter.registration_id, letter.sealed)
    return msgspec.json.decode(plain, type=visa.PassportDetails)


def letter_out(
    settings: Settings, letter: VisaLetterRow, registration: RegistrationRow | None = None
) -> LetterOut:
    details = details_of(settings, letter)
    # What the participant wrote into the request, as unsealed, next to the letter's state.
    return carried(
        LetterOut,
        letter,
        **msgspec.structs.asdict(details),
        name=registration.name if registration is not None else "",
        organisation=registration.organisation if registration is not None else "",
    )


async def letter_of(session: AsyncSession, registration_id: str) -> VisaLetterRow | None:
    return await session.get(VisaLetterRow, registration_id)


async def letters_of_training(
    session: AsyncSession, settings: Settings, training_id: str
) -> list[LetterOut]:
    """A training's letter requests, open ones first, then by request time."""
    rows = await session.exec(
        select(VisaLetterRow, RegistrationRow)
        .join(RegistrationRow, col(RegistrationRow.id) == VisaLetterRow.registration_id)
        .where(VisaLetterRow.training_id == training_id)
        .order_by(col(VisaLetterRow.status) != visa.REQUESTED, col(VisaLetterRow.requested_at))
    )
    return [letter_out(settings, letter, row) for letter, row in rows]


async def letterhead_of(session: AsyncSession, training_id: str) -> LetterheadRow | None:
    return await session.get(LetterheadRow, training_id)


def _announce(uow: UnitOfWork, letter: VisaLetterRow) -> None:
    uow.emit(carried(ev.LETTER_STATUS_EVENTS[letter.status], letter, id=letter.registration_id))


async def request_letter(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: RequestLetter
) -> LetterOut:
    """A confirmed participant asks for a letter (or corrects an open request)."""
    row, _ = await locked(uow, input.registration_id)
    letter = await uow.session.get(VisaLetterRow, row.id)
    visa.may_request(row.status, letter.status if letter is not None else None)
    details = visa.checked(input.details, clock.now().date())
    sealed = sealing.seal(settings.secret, row.id, msgspec.json.encode(details))
    now = clock.now()
    if letter is None:
        letter = VisaLetterRow(
            registration_id=row.id,
            training_id=row.training_id,
            participant_id=row.participant_id,
            status=visa.REQUESTED,
            sealed=sealed,
            requested_at=now,
        )
    else:
        letter.status, letter.sealed, letter.decided_at = visa.REQUESTED, sealed, None
        letter.requested_at = now
        letter.revision += 1
    uow.session.add(letter)
    _announce(uow, letter)
    return letter_out(settings, letter, row)


async def letter_target(uow: UnitOfWork, input: DecideLetter, result: LetterOut) -> Target:
    training = await uow.session.get(TrainingRow, result.training_id)
    registration = (
        await uow.session.exec(
            select(RegistrationRow.participant_id).where(
                RegistrationRow.id == input.registration_id
            )
        )
    ).first()
    return Target(
        "registration",
        input.registration_id,
        result.training_id,
        training.host_country if training is not None else None,
        {"letter": result.status},
        person=registration,
    )


async def _decide(
    uow: UnitOfWork, settings: Settings, input: DecideLetter, verdict: str
) -> LetterOut:
    row, training = await locked(uow, input.registration_id)
    letter = await uow.session.get(VisaLetterRow, row.id)
    if letter is None:
        raise NotFound(f"no letter requested for registration {row.id}", field="registration_id")
    letterhead = await uow.session.get(LetterheadRow, training.id)
    letter.status = visa.decided(row.status, letter.status, verdict, letterhead is not None)
    letter.decided_at = clock.now()
    letter.revision += 1
    uow.session.add(letter)
    _announce(uow, letter)
    if row.erased_at is None:
        facts = await mails.facts_of(uow.session, settings, training, row)
        uow.send_mail(letter_decided(facts, letter.status))
    return letter_out(settings, letter, row)


@audited("letter.approved", letter_target)
async def approve_letter(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: DecideLetter
) -> LetterOut:
    return await _decide(uow, settings, input, visa.APPROVED)


@audited("letter.declined", letter_target)
async def decline_letter(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: DecideLetter
) -> LetterOut:
    return await _decide(uow, settings, input, visa.DECLINED)


async def letterhead_target(uow: UnitOfWork, input: SetLetterhead, result: LetterheadOut) -> Target:
    training = await uow.session.get(TrainingRow, input.training_id)
    host = training.host_country if training is not None else None
    detail = {"signatory_name": result.signatory_name, "signatory_title": result.signatory_title}
    return Target("training", input.training_id, input.training_id, host, detail)


@audited("letterhead.set", letterhead_target)
async def set_letterhead(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: SetLetterhead
) -> LetterheadOut:
    problems = visa.letterhead_problems(input.ministry, input.signatory_name, input.signatory_title)
    for field, message in problems.items():
        raise Invalid(f"{field}: {message}", field=field)
    training = await uow.session.get(TrainingRow, input.training_id)
    if training is None:
        raise NotFound(f"no training {input.training_id}", field="training_id")
    row = await uow.session.get(LetterheadRow, training.id) or LetterheadRow(
        training_id=training.id,
        ministry="",
        signatory_name="",
        signatory_title="",
        updated_at=clock.now(),
    )
    row.ministry = input.ministry.replace("\r\n", "\n").strip()
    row.signatory_name = input.signatory_name.strip()
    row.signatory_title = input.signatory_title.strip()
    row.updated_at = clock.now()
    uow.session.add(row)
    return LetterheadOut(
        training_id=training.id,
        ministry=row.ministry,
        signatory_name=row.signatory_name,
        signatory_title=row.signatory_title,
    )


# --- the letters' end ---------------------------------------------------------------


async def forget_letters(uow: UnitOfWork, registration_ids: Sequence[str]) -> None:
    """Erasure: the letters of these registrations are deleted, passport details and all."""
    if registration_ids:
        await uow.execute(
            delete(VisaLetterRow).where(col(VisaLetterRow.registration_id).in_(registration_ids))
        )


async def erase_expired_letters(db: Database, settings: Settings) -> int:
    """Delete the letters of trainings that ended LETTER_RETENTION ago; how many."""
    last_day = clock.now().date() - LETTER_RETENTION
    async with db.unit() as uow:
        ended = select(TrainingRow.id).where(col(TrainingRow.ends_on) < last_day)
        done = await uow.execute(
            delete(VisaLetterRow).where(col(VisaLetterRow.training_id).in_(ended))
        )
        return int(done.rowcount or 0)
