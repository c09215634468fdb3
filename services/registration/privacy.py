"""A person's data: export, erasure on request, and erasure after the retention period."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.registration import (
    attendance,
    audits,
    certificates,
    commands,
    domain,
    nomination_privacy,
    visa_commands,
)
from services.registration.schemas import (
    ErasureOut,
    MailExport,
    Needs,
    ParticipantExport,
    PrivacyExport,
    RegistrationExport,
)
from services.registration.seats import locked
from services.registration.settings import own
from services.registration.tables import (
    CertificateRow,
    ParticipantRow,
    RegistrationRow,
    TrainingRow,
    VisaLetterRow,
)
from shared import audit, bus, mail, outbox
from shared.audit import audited
from shared.clock import clock
from shared.db import Database, UnitOfWork
from shared.events import contracts as ev
from shared.settings import Settings
from shared.staff import Staff
from shared.structs import carried
from shared.tables import mail_queue

log = logging.getLogger(__name__)


async def export(session: AsyncSession, settings: Settings, email: str) -> PrivacyExport:
    address = domain.normalise_email(email)
    person = (
        await session.exec(select(ParticipantRow).where(ParticipantRow.email == address))
    ).first()
    rows = await session.exec(
        select(RegistrationRow, TrainingRow)
        .join(TrainingRow, col(TrainingRow.id) == RegistrationRow.training_id)
        .where(
            or_(
                col(RegistrationRow.email) == address,
                col(RegistrationRow.participant_id) == (person.id if person else ""),
            )
        )
        .where(col(RegistrationRow.erased_at).is_(None))
        .order_by(col(RegistrationRow.arrival))
    )
    found = list(rows)
    ids = [row.id for row, _ in found]
    days = await attendance.days_by_registration(session, ids)
    held = {
        cert.registration_id: cert
        for cert in await session.exec(
            select(CertificateRow).where(col(CertificateRow.registration_id).in_(ids))
        )
    }
    registrations = [
        carried(
            RegistrationExport,
            row,
            training_title=training.title,
            training_starts_on=training.starts_on,
            needs=Needs(**row.needs) if row.needs else None,
            days_attended=days[row.id],
            certificate_number=held[row.id].number if row.id in held else None,
            certificate_status=held[row.id].status if row.id in held else None,
        )
        for row, training in found
    ]
    letters = [
        visa_commands.letter_out(settings, letter)
        for letter in await session.exec(
            select(VisaLetterRow)
            .where(col(VisaLetterRow.registration_id).in_([r.id for r in registrations]))
            .order_by(col(VisaLetterRow.requested_at))
        )
    ]
    sent = await session.exec(
        select(mail_queue.c.subject, mail_queue.c.created_at, mail_queue.c.sent_at)
        .where(mail_queue.c.recipient == address)
        .order_by(mail_queue.c.id)
    )
    return PrivacyExport(
        email=address,
        participant=carried(
            ParticipantExport, person, calendar_feed_generation=person.feed_generation
        )
        if person
        else None,
        registrations=registrations,
        mails=[
            MailExport(subject=subject, queued_at=queued, sent_at=sent_at)
            for subject, queued, sent_at in sent
        ],
        letters=letters,
        **await nomination_privacy.export_person(session, address),
    )


@audited("participant.exported", audits.export)
async def export_for_staff(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: str
) -> PrivacyExport:
    """The export as the secretariat asks for it (the input is the e-mail address)."""
    return await export(uow.session, settings, input)


@audited("participant.erased", audits.erasure)
async def erase(uow: UnitOfWork, settings: Settings, who: Staff | None, input: str) -> ErasureOut:
    """Erase a person (the input is their e-mail address) on request: every registration,
    the participant, the mail to them."""
    email = input
    address = domain.normalise_email(email)
    person = (
        await uow.session.exec(
            select(ParticipantRow).where(ParticipantRow.email == address).with_for_update()
        )
    ).first()
    ids = list(
        await uow.session.exec(
            select(RegistrationRow.id)
            .where(
                or_(
                    col(RegistrationRow.email) == address,
                    col(RegistrationRow.participant_id) == (person.id if person else ""),
                )
            )
            .where(col(RegistrationRow.erased_at).is_(None))
            # Trainings are locked in id order everywhere, so two writers cannot deadlock.
            .order_by(col(RegistrationRow.training_id), col(RegistrationRow.arrival))
        )
    )
    erased, cancelled = await _erase_registrations(uow, settings, ids)
    nominated, named = await nomination_privacy.erase_person(uow, settings, address)
    if person is not None:
        await _erase_participant(uow, settings, person)
    else:
        await mail.forget_recipient(uow, settings.mail_dir, address)
    return ErasureOut(
        email=address,
        participant_id=person.id if person else None,
        registrations_erased=erased,
        registrations_cancelled=cancelled,
        nominations_erased=nominated,
        focal_points_erased=named,
    )


async def _erase_registrations(
    uow: UnitOfWork, settings: Settings, registration_ids: Sequence[str]
) -> tuple[int, int]:
    """Anonymise registrations; those still holding or awaiting a seat are cancelled first,
    so seat counts stay right and the next person on the waitlist is promoted."""
    cancelled = 0
    now = clock.now()
    for registration_id in registration_ids:
        row, training = await locked(uow, registration_id)
        # Erased before the cancellation, so that no mail goes to the person.
        row.erased_at = now
        if row.status in domain.ACTIVE and training.status == "published":
            await commands.end_registration(
                uow, settings, row, training, domain.cancelled(row.status), now
            )
            cancelled += 1
        row.name = ""
        row.email = ""
        row.organisation = ""
        row.position = None
        row.needs = None
        # The manage link stops working; the column stays unique and never matches a hash.
        row.manage_token_sha256 = f"erased-{row.id}"
        uow.session.add(row)
    await uow.session.flush()
    await visa_commands.forget_letters(uow, registration_ids)
    await certificates.forget(uow, registration_ids, now)
    await audit.forget_objects(uow, "registration", registration_ids)
    return len(registration_ids), cancelled


async def _erase_participant(uow: UnitOfWork, settings: Settings, person: ParticipantRow) -> None:
    """The one path of every erasure, on request or after retention: the participant, the
    mail to them, their events in the outbox and the stream; the others follow the
    ParticipantErased event."""
    await mail.forget_recipient(uow, settings.mail_dir, person.email)
    await outbox.forget_person(uow, person.id)
    await bus.forget_dead_letters(uow, person.id)
    await audit.forget_person(uow, person.id)
    # The row stays, without personal data, so that registrations keep their reference;
    # an empty feed hash revokes the calendar link in this service too.
    person.email = f"erased-{person.id}@erased.invalid"
    person.name = ""
    person.feed_token_sha256 = ""
    person.erased_at = clock.now()
    person.revision += 1
    uow.session.add(person)
    uow.emit(ev.ParticipantErased(id=person.id, revision=person.revision))


async def erase_expired(db: Database, settings: Settings) -> int:
    """Erase the personal data of trainings completed (or cancelled) a retention period ago.

    A participant left with no registration holding personal data is erased as well.
    Returns how many registrations were erased.
    """
    cutoff = clock.now() - own(settings).retention
    erased = 0
    async with db.unit() as uow:
        await nomination_privacy.erase_ended(uow, settings, cutoff)
    while True:
        async with db.unit() as uow:
            ids = list(
                await uow.session.exec(
                    select(RegistrationRow.id)
                    .join(TrainingRow, col(TrainingRow.id) == RegistrationRow.training_id)
                    .where(col(RegistrationRow.erased_at).is_(None))
                    .where(
                        or_(
                            col(TrainingRow.completed_at) <= cutoff,
                            col(TrainingRow.cancelled_at) <= cutoff,
                        )
                    )
                    .order_by(col(RegistrationRow.training_id), col(RegistrationRow.arrival))
                    .limit(200)
                )
            )
            if not ids:
                return erased
            people = set(
                await uow.session.exec(
                    select(RegistrationRow.participant_id).where(col(RegistrationRow.id).in_(ids))
                )
            )
            await _erase_registrations(uow, settings, ids)
            for person_id in sorted(people):
                await _erase_if_forgotten(uow, settings, person_id)
            erased += len(ids)


async def _erase_if_forgotten(uow: UnitOfWork, settings: Settings, person_id: str) -> None:
    remaining = (
        await uow.session.exec(
            select(RegistrationRow.id)
            .where(RegistrationRow.participant_id == person_id)
            .where(col(RegistrationRow.erased_at).is_(None))
            .limit(1)
        )
    ).first()
    if remaining is not None:
        return
    person = await uow.session.get(ParticipantRow, person_id, with_for_update=True)
    if person is not None and person.erased_at is None:
        await _erase_participant(uow, settings, person)
