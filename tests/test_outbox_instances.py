"""Two instances on one database and a real nats-server: each event is published once, and a
crashed instance's events are published by the other within 5 s."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import nats
import pytest
from nats.aio.msg import Msg
from sqlalchemy import func, select

from shared.broker import Broker
from shared.db import Database
from shared.events import contracts as ev
from shared.outbox import CLAIM, OutboxRelay
from shared.tables import outbox
from tests.support import DATABASE_KINDS, NatsServer, database_kind, infrastructure_db


@pytest.fixture(params=DATABASE_KINDS)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with infrastructure_db(tmp_path, database_kind(request.param)) as db:
        yield db


class Instance:
    """One service instance's outbox side: its own connection pool, broker client and relay."""

    def __init__(self, url: str, nats_url: str, name: str) -> None:
        self.db = Database(url)
        self.broker = Broker(nats_url, name)
        self.relay = OutboxRelay(self.db, self.broker)
        self.task: asyncio.Task[None] | None = None

    async def start_relay(self) -> None:
        await self.broker.run()
        self.task = asyncio.create_task(self.relay.run())

    async def commit(self, first: int, count: int) -> None:
        for n in range(first, first + count):
            async with self.db.unit() as uow:
                uow.emit(ev.TrainingCompleted(id=f"training-{n}", revision=1))

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        await self.broker.close()
        await self.db.dispose()


@asynccontextmanager
async def every_publish(nats_url: str) -> AsyncIterator[Counter[str]]:
    """Counts each Nats-Msg-Id published to the scheduling subjects: a plain subscriber sees
    every publish, also the copies the stream's duplicate window would drop."""
    seen: Counter[str] = Counter()

    async def count(message: Msg) -> None:
        seen[(message.headers or {}).get("Nats-Msg-Id", "")] += 1

    connection = await nats.connect(nats_url)
    try:
        await connection.subscribe("scheduling.>", cb=count)
        await connection.flush()
        yield seen
    finally:
        await connection.close()


@asynccontextmanager
async def instances(
    database: Database, nats_url: str, relaying: int
) -> AsyncIterator[tuple[Instance, Instance, Counter[str]]]:
    """Two instances on one database and broker, the relays of the last `relaying` of them
    started, and every publish to the scheduling subjects counted (see `every_publish`)."""
    # A first connection puts a new SQLite file in WAL mode; two instances connecting at
    # once to a file not yet in WAL could each be refused while the other switches it.
    await database.ping()
    pair = (Instance(database.url, nats_url, "a"), Instance(database.url, nats_url, "b"))
    try:
        async with every_publish(nats_url) as seen:
            for instance in pair[len(pair) - relaying :]:
                await instance.start_relay()
            yield (*pair, seen)
    finally:
        for instance in pair:
            await instance.close()


async def published_within(db: Database, expected: int, seconds: float) -> float:
    """Seconds until `expected` rows are marked published; fails after `seconds`."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        async with db.session() as session:
            query = select(func.count()).where(outbox.c.published_at.is_not(None))
            done = (await session.exec(query)).one()[0]  # type: ignore[call-overload]
        if done == expected:
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    raise AssertionError(f"{done} of {expected} events published after {seconds} s")


async def each_published_once(
    db: Database, seen: Counter[str], expected: int, seconds: float
) -> float:
    """`published_within`, and then each of the `expected` events was published once."""
    took = await published_within(db, expected, seconds)
    await asyncio.sleep(0.3)  # for a second publish of the last events to arrive, if any
    assert len(seen) == expected
    assert set(seen.values()) == {1}, {k: v for k, v in seen.items() if v > 1}
    return took


async def test_a_crashed_instances_events_are_published_by_another_within_5_s(
    broker_server: NatsServer, database: Database
) -> None:
    async with instances(database, broker_server.url, relaying=1) as (crashed, _, seen):
        # The crashed instance commits and is gone before its relay publishes anything.
        await crashed.commit(0, 20)
        took = await each_published_once(database, seen, 20, seconds=8)
        assert took < 5, f"the survivor took {took:.1f} s"
        # The survivor waited for the claim to run out, no longer.
        assert took >= CLAIM.total_seconds() - 1


async def test_a_late_fast_path_leaves_its_events_to_the_poll_and_none_is_published_twice(
    broker_server: NatsServer, database: Database
) -> None:
    async with instances(database, broker_server.url, relaying=1) as (late, prompt, seen):
        await asyncio.gather(late.commit(0, 30), prompt.commit(30, 30))
        # The late instance's relay gets to its fresh events only after the other
        # instance's poll could have taken them (a stalled event loop, a long backlog).
        await asyncio.sleep(CLAIM.total_seconds() + 1.5)
        await late.start_relay()
        await late.commit(60, 30)
        await each_published_once(database, seen, 90, seconds=8)


async def test_two_busy_instances_publish_each_event_once(
    broker_server: NatsServer, database: Database
) -> None:
    async with instances(database, broker_server.url, relaying=2) as (one, other, seen):
        await asyncio.gather(one.commit(0, 150), other.commit(150, 150))
        await each_published_once(database, seen, 300, seconds=10)
