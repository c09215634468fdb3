"""What participants ask of their links: a new calendar link, or their links mailed again.

Commands with the signature `(uow, settings, who, input)`, like those of commands.py."""

from __future__ import annotations

from sqlmodel import col, select

from services.registration import audits, domain, links, mails, queries
from services.registration.tables import ParticipantRow, RegistrationRow, TrainingRow
from shared import i18n, tokens
from shared.audit import audited
from shared.commands import OneRegistration
from shared.db import UnitOfWork
from shared.errors import NotFound
from shared.events import contracts as ev
from shared.settings import Settings
from shared.staff import Staff


class RenewCalendarLink(OneRegistration): ...


@audited("registration.calendar_link_renewed", audits.registration)
async def renew_calendar_link(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: RenewCalendarLink
) -> str:
    """A new calendar link; the old one stops working once scheduling has the new hash."""
    row = await queries.get_registration(uow.session, input.registration_id)
    person = (
        await uow.session.exec(
            select(ParticipantRow)
            .where(ParticipantRow.id == row.participant_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).first()
    if person is None or person.erased_at is not None:
        raise NotFound("no participant for this registration")
    person.feed_generation += 1
    person.revision += 1
    person.feed_token_sha256 = tokens.digest(
        links.feed_token(settings, person.id, person.feed_generation)
    )
    uow.session.add(person)
    uow.emit(
        ev.ParticipantFeedTokenSet(
            id=person.id, revision=person.revision, feed_token_sha256=person.feed_token_sha256
        )
    )
    return links.calendar_url(settings, person.id, person.feed_generation)


async def mail_links(uow: UnitOfWork, settings: Settings, who: Staff | None, input: str) -> bool:
    """Mail a known address its manage links and calendar link; say nothing otherwise."""
    address = domain.normalise_email(input)
    person = (
        await uow.session.exec(select(ParticipantRow).where(ParticipantRow.email == address))
    ).first()
    if person is None or person.erased_at is not None:
        return False
    rows = (
        await uow.session.exec(
            select(RegistrationRow, TrainingRow)
            .join(TrainingRow, col(TrainingRow.id) == RegistrationRow.training_id)
            .where(RegistrationRow.participant_id == person.id)
            .where(col(RegistrationRow.status).in_(domain.ACTIVE))
            .order_by(col(TrainingRow.starts_on))
        )
    ).all()
    held = [
        mails.facts_for(settings, training_row, row, person.feed_generation)
        for row, training_row in rows
    ]
    # In the language of the person's latest registration (the list runs by date).
    latest = max((row for row, _ in rows), key=lambda row: row.created_at, default=None)
    language = latest.language if latest is not None else None
    uow.send_mail(
        mails.links(
            person.name,
            address,
            links.calendar_url(settings, person.id, person.feed_generation),
            held,
            language or i18n.DEFAULT,
        )
    )
    return True
