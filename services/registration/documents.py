"""The documents registration prints, read from the database: a training's badge sheet,
a registration found by the check-in code on its badge, and an approved visa letter.
Drawing is CPU work of up to a second, so it runs off the event loop."""

from __future__ import annotations

import asyncio

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.registration import domain, visa
from services.registration.badges import Badge, badge_sheet
from services.registration.letter_pdf import LetterFacts, invitation_letter
from services.registration.tables import LetterheadRow, RegistrationRow, TrainingRow, VisaLetterRow
from services.registration.visa_commands import details_of
from shared.clock import clock
from shared.errors import NotFound
from shared.settings import Settings
from shared.structs import carried


async def badge_sheet_of(session: AsyncSession, training: TrainingRow) -> bytes:
    """Badges of the training's confirmed participants, in name order."""
    rows = await session.exec(
        select(RegistrationRow)
        .where(RegistrationRow.training_id == training.id)
        .where(RegistrationRow.status == "confirmed")
        .where(col(RegistrationRow.erased_at).is_(None))
        .order_by(col(RegistrationRow.name), col(RegistrationRow.arrival))
    )
    badges = [
        Badge(row.name, row.organisation, row.country, row.check_in_code or "")
        for row in rows
        if row.check_in_code
    ]
    return await asyncio.to_thread(badge_sheet, training.title, badges)


async def by_check_in_code(
    session: AsyncSession, training_id: str, typed: str
) -> RegistrationRow | None:
    """The training's registration whose badge carries this code; None for a code that is
    malformed, unknown, or another training's."""
    code = domain.typed_check_in_code(typed)
    if code is None:
        return None
    row = (
        await session.exec(select(RegistrationRow).where(RegistrationRow.check_in_code == code))
    ).first()
    if row is None or row.training_id != training_id or row.erased_at is not None:
        return None
    return row


async def letter_pdf_of(session: AsyncSession, settings: Settings, registration_id: str) -> bytes:
    """The approved letter of a confirmed registration; NotFound without a letter,
    Conflict while it is not approved or after the registration ended."""
    letter = await session.get(VisaLetterRow, registration_id)
    registration = (
        await session.exec(select(RegistrationRow).where(RegistrationRow.id == registration_id))
    ).first()
    if letter is None or registration is None:
        raise NotFound(f"no letter for registration {registration_id}", field="registration_id")
    visa.may_download(registration.status, letter.status)
    training = await session.get(TrainingRow, letter.training_id)
    letterhead = await session.get(LetterheadRow, letter.training_id)
    if training is None or letterhead is None:
        raise NotFound(f"no letter for registration {registration_id}", field="registration_id")
    facts = carried(
        LetterFacts,
        letterhead,
        training_title=training.title,
        city=training.city,
        starts_on=training.starts_on,
        ends_on=training.ends_on,
        organisation=registration.organisation,
        issued_on=(letter.decided_at or clock.now()).date(),
    )
    details = details_of(settings, letter)
    return await asyncio.to_thread(invitation_letter, facts, details, training.language)
