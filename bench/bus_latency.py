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

from shared.broker import Broker
from shared.bus import Consumer
from shared.db import Database
from shared.events import Envelope
from shared.events import contracts as ev
from shared.outbox import OutboxRelay
from shared.settings import load_settings
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
    """Reports, on core NATS, the moment each event's effect has committed."""

    async def apply(self, envelope: Envelope, handler: Any) -> None:
        await super().apply(envelope, handler)
        assert self.broker.nc is not None
        # perf_counter is CLOCK_MONOTONIC on Linux: comparable across processes.
        await self.broker.nc.publish(
            "bench.done", f"{envelope.correlation_id} {time.perf_counter()}".encode()
        )


async def database(url: str) -> Database:
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(infrastructure.create_all)
    await engine.dispose()
    return Database(url)


async def consume(url: str, consumer_url: str) -> None:
    """The consumer side, in a process of its own as in a deployment."""
    db, broker = await database(consumer_url), Broker(url, "consumer")
    await broker.run()

    async def effect(uow: Any, settings: Any, data: Any, envelope: Any) -> None:
        # A read inside the effect's transaction, as a real handler does.
        await uow.execute(infrastructure.tables["inbox"].select().limit(1))

    consumer = TimedConsumer(
        db,
        broker,
        name="bench-from-scheduling",
        stream="SCHEDULING",
        settings=load_settings({"CAPITALS_DATA_DIR": tempfile.mkdtemp()}),
        handlers={ev.TrainingCompleted.subject: effect},
    )
    await asyncio.gather(consumer.run(), db.checkpoints())


async def whole_path(url: str, producer_url: str, consumer_url: str, count: int) -> list[float]:
    producer_db = await database(producer_url)
    producer = Broker(url, "producer")
    await producer.run()
    assert producer.nc is not None
    relay = OutboxRelay(producer_db, producer)
    finished: dict[str, asyncio.Future[float]] = {}

    async def done(message: Any) -> None:
        key, moment = message.data.decode().split()
        waiter = finished.get(key)
        if waiter is not None and not waiter.done():
            waiter.set_result(float(moment))

    await producer.nc.subscribe("bench.done", cb=done)
    consumer = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--consume", url, consumer_url
    )
    task = asyncio.gather(relay.run(), producer_db.checkpoints())
    latencies = []
    try:
        for n in range(count + 50):
            key = str(uuid.uuid4())
            waiter: asyncio.Future[float] = asyncio.get_running_loop().create_future()
            finished[key] = waiter
            async with producer_db.unit(correlation_id=key) as uow:
                uow.emit(ev.TrainingCompleted(id=f"t{n}", revision=1))
            committed = time.perf_counter()
            moment = await asyncio.wait_for(waiter, timeout=30)
            if n >= 50:  # the first ones include the consumer's start-up
                latencies.append(moment - committed)
    finally:
        task.cancel()
        consumer.terminate()
        await consumer.wait()
        await producer.close()
        await producer_db.dispose()
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
    parser.add_argument("--consume", nargs=2, metavar=("NATS_URL", "DATABASE_URL"))
    args = parser.parse_args()
    if args.consume:
        await consume(*args.consume)
        return
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
