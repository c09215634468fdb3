"""Database set-up: SQLite writers never see "database is locked"; times stay UTC."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, select, update
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db import Database, UTCDateTime
from shared.logs import JsonFormatter, correlation_id
from tests.support import infrastructure_db

counter_metadata = MetaData()
counter = Table(
    "counter",
    counter_metadata,
    Column("id", Integer, primary_key=True),
    Column("value", Integer, nullable=False),
    Column("note", String(50)),
    Column("at", UTCDateTime),
)


async def counter_file(path: Path) -> str:
    """A new SQLite file holding the counter at 0, made apart from the Database under test;
    its URL."""
    url = f"sqlite+aiosqlite:///{path}"
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(counter_metadata.create_all)
        await connection.execute(counter.insert().values(id=1, value=0))
    await engine.dispose()
    return url


async def test_concurrent_read_then_write_transactions_from_two_processes_never_fail(
    tmp_path: Path,
) -> None:
    url = await counter_file(tmp_path / "busy.sqlite3")
    # Two Database objects on one file stand for two instances of a service.
    first, second = Database(url), Database(url)

    async def increment(db: Database) -> None:
        async with db.unit() as uow:
            value = (await uow.execute(select(counter.c.value))).scalar_one()
            await asyncio.sleep(0)
            await uow.execute(update(counter).values(value=value + 1))

    await asyncio.gather(*(increment(first if n % 2 else second) for n in range(300)))
    async with first.session() as session:
        total = (await session.exec(select(counter.c.value))).one()  # type: ignore[call-overload]
    assert total[0] == 300
    await first.dispose()
    await second.dispose()


async def test_times_are_stored_and_read_back_in_utc(tmp_path: Path) -> None:
    tallinn = timezone(timedelta(hours=3))
    async with infrastructure_db(tmp_path, metadata=counter_metadata) as db:
        async with db.unit() as uow:
            at = datetime(2009, 4, 28, 10, 0, tzinfo=tallinn)
            await uow.execute(counter.insert().values(id=1, value=0, at=at))
        async with db.session() as session:
            (at,) = (await session.exec(select(counter.c.at))).one()  # type: ignore[call-overload]
    assert at == datetime(2009, 4, 28, 7, 0, tzinfo=UTC) and at.tzinfo is UTC


def test_log_lines_are_json_with_the_correlation_id() -> None:
    import json

    token = correlation_id.set("req-42")
    try:
        record = logging.LogRecord("capitals", logging.INFO, __file__, 1, "seat taken", (), None)
        record.subject = "registration.registration.confirmed"
        line = json.loads(JsonFormatter("registration").format(record))
    finally:
        correlation_id.reset(token)
    assert line["correlation_id"] == "req-42"
    assert line["service"] == "registration" and line["message"] == "seat taken"
    assert line["subject"] == "registration.registration.confirmed"


async def test_a_writer_cancelled_while_another_process_writes_leaves_the_file_unlocked(
    tmp_path: Path,
) -> None:
    url = await counter_file(tmp_path / "queued.sqlite3")
    db = Database(url)
    # Another process's writer holds the queue (an flock of its own open file).
    other = os.open(f"{tmp_path / 'queued.sqlite3'}-writers.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(other, fcntl.LOCK_EX)

    async def write() -> None:
        async with db.unit() as uow:
            await uow.execute(update(counter).values(value=counter.c.value + 1))

    waiting = asyncio.create_task(write())
    await asyncio.sleep(0.2)
    assert not waiting.done()
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    fcntl.flock(other, fcntl.LOCK_UN)
    try:
        # The waiting thread took the lock after the cancel; it must give it back, or
        # every other process's writers would wait for ever.
        async with asyncio.timeout(5):
            while True:
                try:
                    fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    await asyncio.sleep(0.05)
        fcntl.flock(other, fcntl.LOCK_UN)
        await write()
        async with db.session() as session:
            assert (await session.exec(select(counter.c.value))).one() == (1,)  # type: ignore[call-overload]
    finally:
        os.close(other)
        await db.dispose()
