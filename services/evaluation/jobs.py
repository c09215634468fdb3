"""The evaluation's due work: closing campaigns, reminders and follow-ups, on a schedule.

One pass reads the clock once and applies each rule in its own unit of work; several
instances may run it side by side (the locks and conditional updates stop double work).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, update
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.evaluation import invitations, queries
from services.evaluation.domain import EVALUATION, FOLLOW_UP
from services.evaluation.release import (
    INVITATION,
    blur_invitations,
    emit_counts,
    lock_campaigns,
    release_pending,
)
from services.evaluation.settings import own
from services.evaluation.tables import CampaignRow, InvitationRow, PendingResponseRow, TrainingRow
from shared.clock import clock
from shared.db import Database, UnitOfWork
from shared.events import contracts as ev
from shared.jobs import on_change
from shared.service import Runtime
from shared.settings import Settings

# The least time between two passes (each is a read, and the writes of what is due). A
# pass runs after a commit of this service or a move of the clock (tests) — what can make
# a rule due sooner than time alone — and otherwise every IDLE_SECONDS: reminders and
# closings are due by the day, so a minute late is on time.
TICK_SECONDS = 0.5
IDLE_SECONDS = 60.0

Rule = Callable[[UnitOfWork, Settings, datetime], Awaitable[int]]


async def close_due_campaigns(uow: UnitOfWork, settings: Settings, now: datetime) -> int:
    """Close every open campaign whose period is over; drafts, now useless, are deleted.

    Those who responded since the last release count as answered from now on,
    but a remainder of fewer than RELEASE_STEP responses is deleted unreleased:
    released, it would be the difference between two reads.
    """
    due = await uow.session.exec(
        select(CampaignRow.id)
        .where(CampaignRow.status == "open")
        .where(col(CampaignRow.closes_at) <= now)
    )
    closed = 0
    for campaign in await lock_campaigns(uow, list(due)):
        if campaign.status != "open":
            continue  # another instance closed it meanwhile
        campaign.status = "closed"
        campaign.revision += 1
        uow.session.add(campaign)
        await uow.execute(
            update(INVITATION).where(INVITATION.c.campaign_id == campaign.id).values(draft=None)
        )
        await release_pending(uow, campaign)
        await uow.execute(
            delete(PendingResponseRow).where(col(PendingResponseRow.campaign_id) == campaign.id)
        )
        await blur_invitations(uow, campaign.id, mark_answered=True)
        uow.forget_after_commit()
        await emit_counts(uow, campaign, ev.CampaignClosed)
        closed += 1
    return closed


async def send_due_reminders(uow: UnitOfWork, settings: Settings, now: datetime) -> int:
    """Remind those who have not answered, `reminder_after` after the last mail,
    at most `max_reminders` times."""
    periods = own(settings)
    if periods.max_reminders <= 0:
        return 0
    campaigns = {
        c.id: (c, t)
        for c, t in await uow.session.exec(
            select(CampaignRow, TrainingRow)
            .join(TrainingRow, col(TrainingRow.id) == col(CampaignRow.training_id))
            .where(CampaignRow.status == "open")
            .where(col(CampaignRow.closes_at) > now)
        )
    }
    due_before = now - periods.reminder_after
    due = [
        invitation
        for invitation in await queries.unanswered(uow.session, list(campaigns))
        if invitation.reminders_sent < periods.max_reminders
        and invitation.last_mailed_at <= due_before
    ]
    await lock_campaigns(uow, [invitation.campaign_id for invitation in due])
    sent = 0
    for invitation in due:
        campaign, training = campaigns[invitation.campaign_id]
        sent += await invitations.remind(uow, settings, invitation, campaign, training, now)
    return sent


def _no_follow_up() -> Any:
    """Condition on CampaignRow: its training has no follow-up campaign yet."""
    later = aliased(CampaignRow)
    return ~exists().where(
        col(later.training_id) == col(CampaignRow.training_id), col(later.stage) == FOLLOW_UP
    )


async def open_due_follow_ups(uow: UnitOfWork, settings: Settings, now: datetime) -> int:
    """Open each training's follow-up `follow_up_after` after its evaluation opened."""
    due_before = now - own(settings).follow_up_after
    due = list(
        await uow.session.exec(
            select(CampaignRow, TrainingRow)
            .join(TrainingRow, col(TrainingRow.id) == col(CampaignRow.training_id))
            .where(CampaignRow.stage == EVALUATION)
            .where(col(CampaignRow.opened_at) <= due_before)
            .where(_no_follow_up())
        )
    )
    for campaign, training in due:
        follow_up = invitations.OpenFollowUp(training, campaign)
        await invitations.open_follow_up(uow, settings, None, follow_up)
    return len(due)


async def anything_due(session: AsyncSession, settings: Settings, now: datetime) -> bool:
    """Whether any time-based rule has work: a cheap read before taking a write lock."""
    periods = own(settings)
    open_ = select(CampaignRow.id).where(CampaignRow.status == "open")
    if (await session.exec(open_.where(col(CampaignRow.closes_at) <= now).limit(1))).first():
        return True
    if periods.max_reminders > 0:
        reminder = (
            select(InvitationRow.id)
            .join(CampaignRow, col(CampaignRow.id) == col(InvitationRow.campaign_id))
            .where(CampaignRow.status == "open")
            .where(col(InvitationRow.answered).is_(False))
            .where(col(InvitationRow.email).is_not(None))
            .where(col(InvitationRow.reminders_sent) < periods.max_reminders)
            .where(col(InvitationRow.last_mailed_at) <= now - periods.reminder_after)
            .limit(1)
        )
        if (await session.exec(reminder)).first():
            return True
    follow_up = (
        select(CampaignRow.id)
        .where(CampaignRow.stage == EVALUATION)
        .where(col(CampaignRow.opened_at) <= now - periods.follow_up_after)
        .where(_no_follow_up())
        .limit(1)
    )
    return (await session.exec(follow_up)).first() is not None


# Closing first: a campaign past its end gets no reminder.
RULES: tuple[Rule, ...] = (close_due_campaigns, send_due_reminders, open_due_follow_ups)


async def run_due_work(db: Database, settings: Settings) -> dict[str, int]:
    """Apply every time-based rule once, each in its own unit of work, at one `now`."""
    now = clock.now()
    done = {rule.__name__: 0 for rule in RULES}
    async with db.session() as session:
        # A read first, so an idle pass never takes SQLite's write lock.
        if not await anything_due(session, settings, now):
            return done
    for rule in RULES:
        async with db.unit() as uow:
            done[rule.__name__] = await rule(uow, settings, now)
    return done


async def _pass(runtime: Runtime) -> None:
    await run_due_work(runtime.db, runtime.settings)


async def schedule(runtime: Runtime) -> None:
    """Runs for the life of the service; TICK_SECONDS is read when the service starts."""
    await on_change("evaluation schedule", _pass, spacing=TICK_SECONDS, idle=IDLE_SECONDS)(runtime)
