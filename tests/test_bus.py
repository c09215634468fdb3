"""The bus on a real nats-server: outbox through outages, inbox on redelivery, dead letters."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import nats
import pytest
from sqlalchemy import select, update

from shared.broker import Broker
from shared.bus import Consumer
from shared.db import Database, UnitOfWork
from shared.events import Envelope, encode, envelope_for, producers
from shared.events import contracts as ev
from shared.outbox import OutboxRelay, forget_person
from shared.tables import dead_letter, inbox, outbox
from tests.bus_support import Recorder, completed_consumer, count, stored_messages, stream_info
from tests.support import NatsServer, eventually, infrastructure_db


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    async with infrastructure_db(tmp_path) as db:
        yield db


def completed(n: int) -> ev.TrainingCompleted:
    return ev.TrainingCompleted(id=f"training-{n}", revision=n)


async def stream_messages(url: str, stream: str) -> int:
    return int((await stream_info(url, stream)).state.messages)


@asynccontextmanager
async def relaying(server: NatsServer, database: Database) -> AsyncIterator[OutboxRelay]:
    """A connected broker and the outbox relay publishing through it, for the block."""
    broker = Broker(server.url, "test")
    await broker.run()
    relay = OutboxRelay(database, broker)
    task = asyncio.create_task(relay.run())
    try:
        yield relay
    finally:
        task.cancel()
        await broker.close()


async def test_changes_commit_while_the_broker_is_down_and_their_events_follow_once(
    broker_server: NatsServer, database: Database
) -> None:
    async with relaying(broker_server, database):
        async with database.unit() as uow:
            uow.emit(completed(0))
        await eventually(lambda: _published(database, 1))

        broker_server.stop()
        for n in range(1, 51):
            async with database.unit() as uow:
                uow.emit(completed(n))
        assert await count(database, outbox) == 51
        await asyncio.sleep(0.5)
        assert await count(database, outbox, outbox.c.published_at.is_(None)) == 50

        broker_server.start()
        await eventually(lambda: _published(database, 51), timeout=20)
        assert await stream_messages(broker_server.url, "SCHEDULING") == 51


async def _published(db: Database, expected: int) -> bool:
    return await count(db, outbox, outbox.c.published_at.is_not(None)) == expected


async def publish(url: str, envelope: Envelope, msg_id: str | None = None) -> None:
    connection = await nats.connect(url)
    try:
        await connection.jetstream().publish(
            envelope.subject, encode(envelope), headers={"Nats-Msg-Id": msg_id or envelope.event_id}
        )
    finally:
        await connection.close()


@pytest.fixture
async def consumer_for(
    broker_server: NatsServer, database: Database, tmp_path: Path
) -> AsyncIterator[Any]:
    started: list[tuple[asyncio.Task[None], Broker]] = []

    async def start(recorder: Recorder) -> Consumer:
        broker = Broker(broker_server.url, "test-consumer")
        await broker.run()
        consumer = completed_consumer(
            database, broker, tmp_path, recorder, max_deliver=3, backoff=(0.05,)
        )
        started.append((asyncio.create_task(consumer.run()), broker))
        return consumer

    yield start
    for task, broker in started:
        task.cancel()
        await broker.close()


async def test_an_event_delivered_twice_is_applied_once(
    broker_server: NatsServer, database: Database, consumer_for: Any
) -> None:
    recorder = Recorder()
    consumer = await consumer_for(recorder)
    envelope = envelope_for(completed(1), "correlation-1")
    # Two publishes with different message ids get past the broker's duplicate window,
    # as a redelivery after the window would.
    await publish(broker_server.url, envelope, msg_id=str(uuid.uuid4()))
    await publish(broker_server.url, envelope, msg_id=str(uuid.uuid4()))
    await publish(broker_server.url, envelope_for(completed(2), "correlation-2"))

    await eventually(lambda: _handled(consumer, 3))
    assert recorder.applied == ["training-1", "training-2"]
    # The handler runs under the correlation id of the request that caused the event.
    assert recorder.correlation_ids == ["correlation-1", "correlation-2"]
    assert await count(database, inbox) == 2


async def _handled(consumer: Consumer, expected: int) -> bool:
    return consumer.handled >= expected


async def test_an_unknown_event_type_does_not_stop_the_consumer(
    broker_server: NatsServer, database: Database, consumer_for: Any
) -> None:
    recorder = Recorder()
    consumer = await consumer_for(recorder)
    unknown = Envelope(
        event_id=str(uuid.uuid4()),
        subject="scheduling.training.renamed",
        occurred_at=envelope_for(completed(0), "x").occurred_at,
        producer="scheduling",
        correlation_id="x",
        version=1,
        data=msgspec.Raw(b'{"id": "t", "revision": 1, "new_name": "?"}'),
    )
    await publish(broker_server.url, unknown)
    await publish(broker_server.url, envelope_for(completed(7), "y"))
    await eventually(lambda: _handled(consumer, 1))
    assert recorder.applied == ["training-7"]


async def test_a_poisoned_message_is_recorded_dead_and_later_messages_go_on(
    broker_server: NatsServer, database: Database, consumer_for: Any
) -> None:
    recorder = Recorder(poisoned={"training-13"})
    await consumer_for(recorder)
    poisoned = envelope_for(completed(13), "poison")
    await publish(broker_server.url, poisoned)
    await publish(broker_server.url, envelope_for(completed(14), "after"))
    connection = await nats.connect(broker_server.url)
    try:
        await connection.publish("scheduling.training.completed", b"not json at all")
        await connection.flush()
    finally:
        await connection.close()
    await publish(broker_server.url, envelope_for(completed(15), "later"))

    async def two_dead() -> bool:
        return await count(database, dead_letter) == 2

    await eventually(two_dead, timeout=20)
    assert sorted(recorder.applied) == ["training-14", "training-15"]
    async with database.session() as session:
        rows = list(await session.exec(select(dead_letter)))  # type: ignore[call-overload]
    by_event = {row.event_id: row for row in rows}
    assert by_event[poisoned.event_id].deliveries == 3
    assert "cannot apply training-13" in by_event[poisoned.event_id].error
    assert any("undecodable" in row.error for row in rows)


async def test_services_catch_up_after_a_broker_outage(tmp_path: Path) -> None:
    from datetime import date, timedelta

    from tests.scheduling_support import published_training
    from tests.support import running_system

    async with running_system(tmp_path) as system:
        organiser = system.token("organiser", ["LT"])
        starts = date.today() + timedelta(days=20)
        system.nats.stop()
        published, _ = await published_training(
            system,
            organiser,
            series="outage",
            title="Published while the broker is down",
            host_country="LT",
            venue="Vilnius",
            starts_on=starts,
            capacity=5,
        )
        training_id = published["id"]
        ready = await system.scheduling.get("/ready")
        assert ready.status_code == 503 and ready.json()["nats"] is False

        system.nats.start()

        async def catalogued() -> bool:
            items = (await system.registration.get("/trainings")).json()["items"]
            return any(item["id"] == training_id for item in items)

        await eventually(catalogued, timeout=30)
        assert (await system.scheduling.get("/ready")).status_code == 200
        assert await stream_messages(system.nats.url, "SCHEDULING") == 1


def checked_in(person: str, name: str) -> ev.RegistrationCheckedIn:
    return ev.RegistrationCheckedIn(
        id=str(uuid.uuid4()),
        revision=1,
        training_id="training-1",
        participant_id=person,
        status="confirmed",
        name=name,
        email=f"{name.lower()}@example.org",
    )


async def stream_bodies(url: str, stream: str) -> list[bytes]:
    return [message.data or b"" for message in await stored_messages(url, stream)]


async def test_an_erased_persons_events_are_deleted_from_the_stream_even_after_the_prune(
    broker_server: NatsServer, database: Database
) -> None:
    async with relaying(broker_server, database) as relay:
        async with database.unit() as uow:
            uow.emit(checked_in("p-1", "Aino"), person="p-1")
            uow.emit(checked_in("p-2", "Berit"), person="p-2")
            uow.emit(completed(1))
        await eventually(lambda: _published(database, 3))
        assert await count(database, outbox, outbox.c.stream_seq.is_(None)) == 0

        # A day later the prune empties the bodies, but keeps where the messages are.
        async with database.unit() as uow:
            await uow.execute(
                update(outbox).values(published_at=datetime.now(UTC) - timedelta(days=2))
            )
        await relay.prune()
        assert await count(database, outbox) == 2
        assert await count(database, outbox, outbox.c.body != b"") == 0

        async with database.unit() as uow:
            await forget_person(uow, "p-1")

        async def deleted() -> bool:
            bodies = await stream_bodies(broker_server.url, "REGISTRATION")
            assert not [body for body in bodies if b"Aino" in body]
            return True

        await eventually(deleted)
        kept = await stream_bodies(broker_server.url, "REGISTRATION")
        assert any(b"Berit" in body for body in kept), "only the erased person's event goes"
        await eventually(lambda: _count_is(database, 1))


async def test_an_event_relayed_after_its_person_was_erased_is_deleted_from_the_stream(
    broker_server: NatsServer, database: Database
) -> None:
    broker = Broker(broker_server.url, "test")
    await broker.run()
    relay = OutboxRelay(database, broker)
    # The check-in is committed and handed to the relay, which has not published it yet
    # when the erasure commits: it goes out with the name, and must then be deleted.
    async with database.unit() as uow:
        uow.emit(checked_in("p-1", "Aino"), person="p-1")
    async with database.unit() as uow:
        await forget_person(uow, "p-1")
    assert relay._fresh, "the relay holds the event in memory"
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: _count_is(database, 0))
        assert await stream_messages(broker_server.url, "REGISTRATION") == 0
        assert not [
            body
            for body in await stream_bodies(broker_server.url, "REGISTRATION")
            if b"Aino" in body
        ]
    finally:
        task.cancel()
        await broker.close()


async def _count_is(db: Database, expected: int) -> bool:
    return await count(db, outbox) == expected


def test_producers_come_from_the_contracts_and_the_envelope_keeps_its_wire_name() -> None:
    assert producers() == ("evaluation", "registration", "scheduling")
    envelope = envelope_for(completed(3), "c")
    assert envelope.subject == ev.TrainingCompleted.subject
    assert msgspec.json.decode(encode(envelope))["type"] == ev.TrainingCompleted.subject


async def test_a_handler_slower_than_the_ack_wait_keeps_its_message(
    broker_server: NatsServer, database: Database, tmp_path: Path
) -> None:
    calls: list[str] = []

    async def slow(uow: UnitOfWork, settings: Any, data: Any, envelope: Envelope) -> None:
        calls.append(data.id)
        await asyncio.sleep(2.5)

    broker = Broker(broker_server.url, "test-consumer")
    await broker.run()
    consumer = completed_consumer(database, broker, tmp_path, slow, ack_wait=1)
    task = asyncio.create_task(consumer.run())
    try:
        await publish(broker_server.url, envelope_for(completed(1), "slow"))
        await eventually(lambda: _handled(consumer, 1), timeout=10)
        connection = await nats.connect(broker_server.url)
        try:
            info = await connection.jetstream().consumer_info("SCHEDULING", consumer.name)
        finally:
            await connection.close()
    finally:
        task.cancel()
        await broker.close()
    # In-progress acks every third of the ack wait: the server never handed it out again.
    assert calls == ["training-1"]
    assert info.num_redelivered == 0
    assert info.delivered is not None and info.delivered.consumer_seq == 1
