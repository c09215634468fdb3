"""The participant corrects their own details (name, organisation, position, needs, language).

A command with the signature `(uow, settings, who, input)`, like those of commands.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.registration import audits, corrections, domain, queries
from services.registration.attendance import announce_person
from services.registration.commands import Decided, revise
from services.registration.seats import locked
from services.registration.tables import ParticipantRow
from shared.audit import audited
from shared.clock import clock
from shared.db import UnitOfWork
from shared.errors import Conflict
from shared.events import contracts as ev
from shared.settings import Settings
from shared.staff import Staff


@dataclass(frozen=True)
class ChangeDetails:
    """`changes` holds only the fields to change, as named in the API."""

    registration_id: str
    changes: Mapping[str, Any] = field(default_factory=dict)


def details_of(row: Any) -> corrections.Details:
    return corrections.Details(row.name, row.organisation, row.position, row.needs, row.language)


@audited("registration.details_changed", audits.registration)
async def change_details(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: ChangeDetails
) -> Decided:
    """Correct an active registration's details; other services learn the new name, e-mail
    and language from `registration.registration.updated`. Staff changes are audited, the
    participant's own are not."""
    row, _ = await locked(uow, input.registration_id)
    if row.erased_at is not None or row.status not in domain.ACTIVE:
        raise Conflict(
            f"a {row.status} registration can no longer be changed", field="registration"
        )
    before = details_of(row)
    after = corrections.corrected(before, input.changes, settings.languages)
    if after != before:
        row.name, row.organisation, row.position = after.name, after.organisation, after.position
        row.needs = dict(after.needs) if after.needs else None
        row.language = after.language
        revise(uow, row, clock.now())
        person = await uow.session.get(ParticipantRow, row.participant_id)
        if person is not None and person.erased_at is None and person.name != after.name:
            person.name = after.name
            uow.session.add(person)
        announce_person(uow, ev.RegistrationUpdated, row)
    await uow.session.flush()
    return Decided(row, await queries.waitlist_position(uow.session, row))
