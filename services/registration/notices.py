"""What confirmed participants hear about their training between registering and the day:
one summary per burst of programme changes, and a reminder a few days before.

Changes are noted as scheduling's events arrive (handlers.py) and mailed once the programme
has been quiet for REGISTRATION_CHANGE_QUIET_PERIOD; the reminder goes out
REGISTRATION_REMINDER_BEFORE the first day. Each pass queues its mails in the same
transaction that marks the work done (the summary row deleted, `reminded_at` set), with the
rows locked (SKIP LOCKED on PostgreSQL, the single writer on SQLite): however many instances
run, and across restarts, a person gets each mail at most once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.registration import domain, links, mails, notice_mails, programme
from services.registration.settings import own
from services.registration.tables import ProgrammeChangeRow, RegistrationRow, TrainingRow
from shared.clock import clock
from shared.db import Database, UnitOfWork
from shared.i18n import speaking
from shared.jobs import on_change
from shared.settings import Settings

if TYPE_CHECKING:
    from shared.service import Runtime

# A pass at most this often, and one at least this often when nothing wakes the job.
SPACING_SECONDS = 1.0
IDLE_SECONDS = 60.0


async def note_changes(
    uow: UnitOfWork, settings: Settings, training_id: str, changes: Sequence[dict[str, Any]]
) -> None:
    """Add changes to the training's coming summary; the quiet period starts again. The
    caller holds the training's aggregate lock."""
    due = clock.now() + own(settings).change_quiet_period
    row = await uow.session.get(ProgrammeChangeRow, training_id, with_for_update=True)
    if row is None:
        row = ProgrammeChangeRow(training_id=training_id, changes=list(changes), due_at=due)
    else:
        row.changes = [*row.changes, *changes]
        row.due_at = due
    uow.session.add(row)


def _confirmed(training_id: str) -> Any:
    return (
        select(RegistrationRow)
        .where(RegistrationRow.training_id == training_id)
        .where(RegistrationRow.status == "confirmed")
        .where(col(RegistrationRow.erased_at).is_(None))
        .order_by(col(RegistrationRow.arrival))
    )


async def send_due_summaries(uow: UnitOfWork, settings: Settings, now: datetime) -> int:
    """Mail each confirmed participant one summary of every burst that has gone quiet."""
    due = list(
        await uow.session.exec(
            select(ProgrammeChangeRow)
            .where(col(ProgrammeChangeRow.due_at) <= now)
            .with_for_update(skip_locked=True)
        )
    )
    sent = 0
    for pending in due:
        training = await uow.session.get(TrainingRow, pending.training_id)
        lines = programme.summary(pending.changes)
        if training is not None and training.status == "published" and lines:
            page = links.training_page_url(settings, training.id)
            for row in await uow.session.exec(_confirmed(training.id)):
                facts = await mails.facts_of(uow.session, settings, training, row)
                with speaking(row.language):
                    mail = notice_mails.changes_summary(facts, lines, training.timezone, page)
                uow.send_mail(mail)
                sent += 1
        await uow.session.delete(pending)
    return sent


def _reminder_candidates(now: datetime, before: timedelta) -> Any:
    # A day's margin either side for the zones; the exact moment is checked per row.
    return (
        select(RegistrationRow, TrainingRow)
        .join(TrainingRow, col(TrainingRow.id) == col(RegistrationRow.training_id))
        .where(RegistrationRow.status == "confirmed")
        .where(col(RegistrationRow.reminded_at).is_(None))
        .where(col(RegistrationRow.erased_at).is_(None))
        .where(TrainingRow.status == "published")
        .where(col(TrainingRow.starts_on) <= (now + before + timedelta(days=1)).date())
        .where(col(TrainingRow.starts_on) >= (now - timedelta(days=1)).date())
    )


def _reminder_due(training: TrainingRow, now: datetime, before: timedelta) -> bool:
    begins = domain.first_day_begins(training.starts_on, training.timezone)
    return now < begins <= now + before


async def send_due_reminders(uow: UnitOfWork, settings: Settings, now: datetime) -> int:
    """Remind each confirmed participant once, `reminder_before` the first day begins."""
    before = own(settings).reminder_before
    found = await uow.session.exec(
        _reminder_candidates(now, before).with_for_update(of=RegistrationRow, skip_locked=True)
    )
    sent = 0
    for row, training in list(found):
        if not _reminder_due(training, now, before):
            continue
        facts = await mails.facts_of(uow.session, settings, training, row)
        with speaking(row.language):
            mail = notice_mails.reminder(
                facts,
                venue=training.venue,
                sessions=training.sessions,
                timezone=training.timezone,
                training_page=links.training_page_url(settings, training.id),
            )
        uow.send_mail(mail)
        row.reminded_at = now
        uow.session.add(row)
        sent += 1
    return sent


async def anything_due(session: AsyncSession, settings: Settings, now: datetime) -> bool:
    """A cheap read first, so that an idle pass takes no write lock."""
    summary = select(ProgrammeChangeRow.training_id).where(col(ProgrammeChangeRow.due_at) <= now)
    if (await session.exec(summary.limit(1))).first() is not None:
        return True
    before = own(settings).reminder_before
    return any(
        _reminder_due(training, now, before)
        for _, training in await session.exec(_reminder_candidates(now, before))
    )


async def run_due_work(db: Database, settings: Settings) -> dict[str, int]:
    now = clock.now()
    async with db.session() as session:
        if not await anything_due(session, settings, now):
            return {"summaries": 0, "reminders": 0}
    async with db.unit() as uow:
        summaries = await send_due_summaries(uow, settings, now)
    async with db.unit() as uow:
        reminders = await send_due_reminders(uow, settings, now)
    return {"summaries": summaries, "reminders": reminders}


async def _pass(runtime: Runtime) -> None:
    await run_due_work(runtime.db, runtime.settings)


async def notify(runtime: Runtime) -> None:
    """Runs for the life of the service."""
    await on_change("participant notices", _pass, spacing=SPACING_SECONDS, idle=IDLE_SECONDS)(
        runtime
    )
