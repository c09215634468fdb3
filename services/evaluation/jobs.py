"""The evaluation's background work: closing campaigns, reminders, follow-ups."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from services.evaluation import commands
from shared.clock import clock
from shared.db import Database, UnitOfWork
from shared.service import Runtime
from shared.settings import Settings

log = logging.getLogger(__name__)

# Short, so a test that moves the clock sees the effect quickly; each pass is a few queries.
TICK_SECONDS = 0.5

Rule = Callable[[UnitOfWork, Settings, datetime], Awaitable[int]]

# Closing first: a campaign past its end gets no reminder.
RULES: tuple[Rule, ...] = (
    commands.close_due_campaigns,
    commands.send_due_reminders,
    commands.open_due_follow_ups,
)


async def run_due_work(db: Database, settings: Settings, now: datetime) -> dict[str, int]:
    """Apply every time-based rule once, each in its own unit of work."""
    done = {rule.__name__: 0 for rule in RULES}
    async with db.session() as session:
        # A read first, so an idle pass never takes SQLite's write lock.
        if not await commands.anything_due(session, settings, now):
            return done
    for rule in RULES:
        async with db.unit() as uow:
            done[rule.__name__] = await rule(uow, settings, now)
    return done


async def schedule(runtime: Runtime) -> None:
    """Runs for the life of the service; several instances may run it side by side."""
    while True:
        try:
            await run_due_work(runtime.db, runtime.settings, clock.now())
        except Exception:
            # Another instance may have done the same work first (a unique key
            # stops it); the next pass starts from what is committed.
            log.exception("evaluation schedule pass failed; retrying")
        await asyncio.sleep(TICK_SECONDS)
