"""Leases on queued rows (outbox, mail), so that several instances never handle one row at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, case, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession as SQLAlchemyAsyncSession

from shared.db import Database


def _real_now() -> datetime:
    # Leases follow real time, not the domain clock a test may have pinned.
    return datetime.now(UTC)


async def lease(
    db: Database,
    table: Table,
    done_column: str,
    *,
    limit: int,
    period: timedelta,
) -> list[Any]:
    """Lease up to `limit` unfinished rows, oldest first, for `period`; return them."""
    now = _real_now()
    done = table.c[done_column]
    candidates = (
        select(table.c.id)
        .where(done.is_(None))
        # A dead row (mail that failed its last attempt) is never tried again.
        .where(table.c.dead_at.is_(None) if "dead_at" in table.c else true())
        .where(or_(table.c.claimed_until.is_(None), table.c.claimed_until < now))
        .order_by(table.c.id)
    )
    # Most passes find nothing (the fast path published it, the mail went out): a read
    # says so without a write transaction, which on SQLite would take the write lock.
    async with db.session() as session:
        found = await SQLAlchemyAsyncSession.execute(session, candidates.limit(1))
        if found.first() is None:
            return []
    async with db.unit() as uow:
        locked = candidates.limit(limit).with_for_update(skip_locked=True)
        ids = list((await uow.execute(locked)).scalars())
        if not ids:
            return []
        await uow.execute(
            update(table).where(table.c.id.in_(ids)).values(claimed_until=now + period)
        )
        rows = await uow.execute(select(table).where(table.c.id.in_(ids)).order_by(table.c.id))
        return list(rows)


async def survey(db: Database, table: Table, done_column: str) -> tuple[bool, datetime | None]:
    """Whether unfinished rows are free to lease now, and when the first lease held on one
    runs out: one read, so that a poll with nothing to do takes no write lock."""
    now = _real_now()
    claimed = table.c.claimed_until
    async with db.session() as session:
        found = await SQLAlchemyAsyncSession.execute(
            session,
            select(
                func.count(case((or_(claimed.is_(None), claimed < now), 1))),
                func.min(case((claimed >= now, claimed))),
            )
            .where(table.c[done_column].is_(None))
            .where(table.c.dead_at.is_(None) if "dead_at" in table.c else true()),
        )
        free, first_end = found.one()
        return bool(free), first_end


async def finish(db: Database, table: Table, done_column: str, ids: list[int]) -> None:
    if not ids:
        return
    async with db.unit() as uow:
        await uow.execute(
            update(table)
            .where(table.c.id.in_(ids))
            .values({done_column: _real_now(), "claimed_until": None})
        )


async def release(db: Database, table: Table, row_id: int, error: str, retry_in: timedelta) -> None:
    """Record a failed attempt; the row is tried again once `retry_in` has passed."""
    async with db.unit() as uow:
        await uow.execute(
            update(table)
            .where(table.c.id == row_id)
            .values(
                attempts=table.c.attempts + 1,
                last_error=error[:2000],
                claimed_until=_real_now() + retry_in,
            )
        )
