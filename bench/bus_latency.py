"""Latency from a committed change to the consumer's committed effect, against bare JetStream.

Run: .venv/bin/python bench/bus_latency.py [--events 1000] [--postgres]
Prints p50/p99 for a bare publish -> pull-consume -> ack on the same broker, and for the
whole path: commit with an outbox row -> relay -> broker -> consumer -> inbox + effect committed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import nats
from nats.js.api import AckPolicy, ConsumerConfig
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.bus import Broker, Consumer, OutboxRelay
from shared.db import Database
from shared.events import Envelope
from shared.events import contracts as ev
from shared.tables import infrastructure
from tests.support import NatsServer, create_pg_database, drop_pg_database


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def bare(url: str, count: int) -> list[float]:
    connection = await nats.connect(url)
    js = connection.jetstream()
    await js.add_stream(name="BARE", subjects=["bare.>"])
    await js.add_consumer(
        "BARE", ConsumerConfig(durable_name="bare", ack_policy=AckPolicy.EXPLICIT)
    )
    sub = await js.pull_subscribe_bind("bare", "BARE")
    latencies = []
    for n in range(count):
        started = time.perf_counter()
        await js.publish("bare.event", b'{"n": %d}' % n, headers={"Nats-Msg-Id": str(uuid.uuid4())})
        (message,) = await sub.fetch(1, timeout=5)
        await message.ack()
        latencies.append(time.perf_counter() - started)
    await connection.close()
    return latencies


class TimedConsumer(Consumer):
    """Notes when each event's effect has committed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.done: dict[str, asyncio.Future[float]] = {}

    async def apply(self, envelope: Envelope, handler: Any) -> None:
        await super().apply(envelope, handler)
        waiter = self.done.get(envelope.correlation_id)
        if waiter is not None and not waiter.done():
            waiter.set_result(time.perf_counter())


async def database(url: str) -> Database:
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(infrastructure.create_all)
    await engine.dispose()
    return Database(url)


async def whole_path(url: str, producer_url: str, consumer_url: str, count: int) -> list[float]:
    producer_db, consumer_db = await database(producer_url), await database(consumer_url)
    producer, consumer_broker = Broker(url, "producer"), Broker(url, "consumer")
    await producer.run()
    await consumer_broker.run()
    relay = OutboxRelay(producer_db, producer)

    async def effect(uow: Any, data: Any, envelope: Any) -> None:
        await uow.execute(
            infrastructure.tables["inbox"].select().limit(1)
        )  # a read inside the effect's transaction, as a real handler does

    consumer = TimedConsumer(
        consumer_db,
        consumer_broker,
        name="bench-from-scheduling",
        stream="SCHEDULING",
        handlers={ev.TrainingCompleted.subject: effect},
    )
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(consumer.run())]
    latencies = []
    try:
        for n in range(count + 20):
            key = str(uuid.uuid4())
            waiter: asyncio.Future[float] = asyncio.get_running_loop().create_future()
            consumer.done[key] = waiter
            async with producer_db.unit(correlation_id=key) as uow:
                uow.emit(ev.TrainingCompleted(id=f"t{n}", revision=1))
            committed = time.perf_counter()
            finished = await asyncio.wait_for(waiter, timeout=10)
            if n >= 20:  # warm-up
                latencies.append(finished - committed)
    finally:
        for task in tasks:
            task.cancel()
        await producer.close()
        await consumer_broker.close()
        await producer_db.dispose()
        await consumer_db.dispose()
    return latencies


def row(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"| {name:<44} | {len(ms):>6} | {statistics.median(ms):>8.2f} | "
        f"{percentile(ms, 0.99):>8.2f} |"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        server = NatsServer(Path(folder) / "nats")
        server.start()
        try:
            rows = [
                row("bare JetStream publish -> fetch -> ack", await bare(server.url, args.events))
            ]
            producer = f"sqlite+aiosqlite:///{folder}/producer.sqlite3"
            consumer = f"sqlite+aiosqlite:///{folder}/consumer.sqlite3"
            rows.append(
                row(
                    "commit -> outbox -> consumer commit (SQLite)",
                    await whole_path(server.url, producer, consumer, args.events),
                )
            )
            if args.postgres:
                names = [f"capitals_bench_{uuid.uuid4().hex[:8]}_{side}" for side in ("p", "c")]
                urls = [await create_pg_database(name) for name in names]
                try:
                    rows.append(
                        row(
                            "commit -> outbox -> consumer commit (PostgreSQL)",
                            await whole_path(server.url, *urls, args.events),
                        )
                    )
                finally:
                    for name in names:
                        await drop_pg_database(name)
        finally:
            server.stop()
    print(f"| {'path':<44} | {'events':>6} | {'p50 ms':>8} | {'p99 ms':>8} |")
    print(f"|{'-' * 46}|{'-' * 8}|{'-' * 10}|{'-' * 10}|")
    for line in rows:
        print(line)


if __name__ == "__main__":
    asyncio.run(main())
