"""A new edition of a training, started from an earlier one: its programme comes along."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.scheduling import audits, commands, domain, queries
from services.scheduling.schemas import TrainingIn
from services.scheduling.tables import SessionRow, TrainingRow
from shared.audit import audited
from shared.clock import clock
from shared.db import UnitOfWork
from shared.errors import Forbidden
from shared.settings import Settings
from shared.staff import Staff


@dataclass(frozen=True)
class NewEdition:
    training: TrainingIn
    earlier: str | None = None


@audited("training.created", audits.created)
async def create_edition(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: NewEdition
) -> TrainingRow:
    """A draft training; with `earlier`, a copy of that training's live sessions (rooms and
    speakers too) on the same day of the new dates, at the same wall-clock time in the new
    capital's zone."""
    training = await commands.create_training(uow, settings, who, input.training)
    if input.earlier is None:
        return training
    source = await queries.training(uow.session, input.earlier)
    if who is None or not who.may_manage(source.host_country):
        raise Forbidden("you may not copy another country's training", field="earlier")
    days = (training.starts_on - source.starts_on).days
    now = clock.now()
    copies = []
    for row in await queries.sessions_of(uow.session, source.id):
        if row.status == "cancelled":
            continue
        copies.append(
            SessionRow(
                id=str(uuid.uuid4()),
                training_id=training.id,
                title=row.title,
                kind=row.kind,
                starts_at=domain.retimed(row.starts_at, source.timezone, training.timezone, days),
                ends_at=domain.retimed(row.ends_at, source.timezone, training.timezone, days),
                room=row.room,
                speakers=list(row.speakers),
                description=row.description,
                revised_at=now,
            )
        )
    timings = [domain.Timing(s.id, s.title, s.starts_at, s.ends_at) for s in copies]
    domain.check_timetable_fits(training.starts_on, training.ends_on, training.timezone, timings)
    await uow.session.flush()
    uow.session.add_all(copies)
    return training
