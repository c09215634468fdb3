"""The bus and the services on a three-node JetStream cluster on loopback: replicas as
NATS_REPLICAS says, and a node killed mid-run losing or doubling nothing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest
from nats.js.api import ConsumerConfig, StreamConfig

from deploy.loopback import NatsCluster, nats_cluster
from shared.broker import Broker, stream_name
from shared.events import contracts as ev
from shared.events import producers
from shared.outbox import OutboxRelay
from shared.tables import inbox, outbox
from tests.bus_support import Recorder, completed_consumer, count, stream_info
from tests.scheduling_support import published_training, uid_of, vevents
from tests.support import eventually, infrastructure_db, running_system

STREAMS = [stream_name(producer) for producer in producers()]


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[NatsCluster]:
    async with asyncio.timeout(60), nats_cluster(tmp_path / "cluster") as running:
        yield running


async def replicas(url: str) -> dict[str, int]:
    """Each stream's replicas (key-value buckets too), as the cluster reports them."""
    connection = await nats.connect(url.split(","))
    try:
        return {
            str(info.config.name): int(info.config.num_replicas or 1)
            for info in await connection.jetstream().streams_info()
        }
    finally:
        await connection.close()


async def settle(url: str, expected: dict[str, int]) -> None:
    """Until the cluster reports these replicas: a stream being scaled drops out of the list
    for a moment."""

    async def reported() -> bool:
        assert await replicas(url) == expected
        return True

    await eventually(reported)


async def start_broker(url: str, replicas: int | None) -> Broker:
    """A service instance's start-up as far as the broker goes: connect, provision."""
    broker = Broker(url, "test", replicas=replicas)
    async with asyncio.timeout(20):
        await broker.run()
    return broker


async def test_a_stream_raised_to_three_replicas_stays_there_when_a_service_restarts(
    cluster: NatsCluster, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "shared.broker")
    first = await start_broker(cluster.url, None)
    await first.close()
    assert await replicas(cluster.url) == dict.fromkeys(STREAMS, 1)

    # An operator raises one stream by hand and keeps a bucket at one replica.
    connection = await nats.connect(cluster.url.split(","))
    js = connection.jetstream()
    info = await js.stream_info("REGISTRATION")
    config: StreamConfig = info.config
    config.num_replicas = 3
    await js.update_stream(config)
    await js.create_key_value(bucket="limits", replicas=1)
    await js.add_consumer("SCHEDULING", ConsumerConfig(name="reader", durable_name="reader"))
    await connection.close()

    restarted = await start_broker(cluster.url, None)
    await restarted.close()
    assert await replicas(cluster.url) == {
        "REGISTRATION": 3,
        "SCHEDULING": 1,
        "EVALUATION": 1,
        "KV_limits": 1,
    }
    assert "replicas changed" not in caplog.text

    raised = await start_broker(cluster.url, 3)
    await raised.close()
    await settle(cluster.url, {**dict.fromkeys(STREAMS, 3), "KV_limits": 3})
    assert "stream SCHEDULING: replicas changed from 1 to 3 (NATS_REPLICAS)" in caplog.text
    assert "stream KV_limits: replicas changed from 1 to 3 (NATS_REPLICAS)" in caplog.text
    assert "stream REGISTRATION: replicas changed" not in caplog.text

    async def consumer_follows() -> bool:
        connection = await nats.connect(cluster.url.split(","))
        try:
            info = await connection.jetstream().consumer_info("SCHEDULING", "reader")
        finally:
            await connection.close()
        assert info.cluster is not None and len(info.cluster.replicas or []) == 2
        return True

    await eventually(consumer_follows)

    again = await start_broker(cluster.url, None)
    await again.close()
    assert await replicas(cluster.url) == {**dict.fromkeys(STREAMS, 3), "KV_limits": 3}


async def test_replicas_the_cluster_cannot_hold_are_reported_and_retried(
    cluster: NatsCluster, caplog: pytest.LogCaptureFixture
) -> None:
    broker = Broker(cluster.url, "test", replicas=5)
    task = asyncio.create_task(broker.run())
    try:

        async def reported() -> bool:
            return (broker.unready_because or "").startswith("streams not provisioned")

        await eventually(reported)
        assert not broker.ready
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert errors and "streams not provisioned" in errors[0].getMessage()
        assert not task.done(), "it keeps retrying"
    finally:
        task.cancel()
        await broker.close()


async def stream_leader(url: str, stream: str) -> str:
    info = await stream_info(url, stream)
    assert info.cluster is not None and info.cluster.leader
    return info.cluster.leader


async def test_events_flow_on_three_replicas_while_the_stream_leader_is_killed(
    cluster: NatsCluster, tmp_path: Path
) -> None:
    total = 240
    recorder = Recorder()
    async with infrastructure_db(tmp_path) as db:
        producer = await start_broker(cluster.url, 3)
        consuming = await start_broker(cluster.url, 3)
        relay = OutboxRelay(db, producer)
        consumer = completed_consumer(db, consuming, tmp_path, recorder, backoff=(0.2,))
        tasks = [asyncio.create_task(relay.run()), asyncio.create_task(consumer.run())]
        try:
            assert await replicas(cluster.url) == dict.fromkeys(STREAMS, 3)

            async def emit(first: int, count: int) -> None:
                for n in range(first, first + count):
                    async with db.unit() as uow:
                        uow.emit(ev.TrainingCompleted(id=f"training-{n}", revision=1))
                    await asyncio.sleep(0.01)

            await emit(0, 80)
            leader = cluster.names.index(await stream_leader(cluster.url, "SCHEDULING"))
            cluster.kill(leader)
            await emit(80, 80)
            cluster.start_node(leader)
            await emit(160, 80)

            async def all_applied() -> bool:
                return await count(db, inbox) == total

            await eventually(all_applied, timeout=30)
            assert await count(db, outbox, outbox.c.published_at.is_(None)) == 0
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await producer.close()
            await consuming.close()
    # Nothing lost, nothing applied twice, nothing stored twice.
    assert sorted(recorder.applied) == sorted(f"training-{n}" for n in range(total))
    assert (await stream_info(cluster.url, "SCHEDULING")).state.messages == total


async def test_the_services_event_flow_on_three_replicas_survives_a_node_killed(
    cluster: NatsCluster, tmp_path: Path
) -> None:
    participants = 12
    async with running_system(tmp_path, broker=cluster, NATS_REPLICAS="3") as system:
        organiser = system.token("organiser", ["EE"])
        training, (session,) = await published_training(system, organiser, capacity=50)

        async def open_for_registration() -> bool:
            listed = await system.registration.get("/trainings")
            assert any(t["id"] == training["id"] for t in listed.json()["items"])
            return True

        await eventually(open_for_registration, timeout=20)
        assert await replicas(cluster.url) == dict.fromkeys(STREAMS, 3)

        # The node leading the registration stream goes down while people register.
        leader = cluster.names.index(await stream_leader(cluster.url, "REGISTRATION"))
        cluster.kill(leader)
        feeds = []
        for n in range(participants):
            registered = await system.registration.post(
                f"/trainings/{training['id']}/registrations",
                json={
                    "name": f"Participant {n}",
                    "email": f"participant{n}@mfa.ee",
                    "organisation": "Ministry of Foreign Affairs of Estonia",
                    "country": "EE",
                    "consent": True,
                },
            )
            assert registered.status_code == 201, registered.text
            assert registered.json()["status"] == "confirmed"
            url = registered.json()["calendar_url"]
            feeds.append("/" + url.split("://", 1)[1].split("/", 1)[1])
        cluster.start_node(leader)

        async def every_feed_shows_the_session() -> bool:
            for feed in feeds:
                response = await system.scheduling.get(feed)
                assert response.status_code == 200, response.text
                assert uid_of(session["id"]) in vevents(response.content), feed
            return True

        await eventually(every_feed_shows_the_session, timeout=30)

        # Every event the registration service wrote is in its stream once.
        registration_db = system.runtime("registration").db

        async def all_published() -> bool:
            unpublished = outbox.c.published_at.is_(None)
            left = await system.on_service_loop(
                "registration", count, registration_db, outbox, unpublished
            )
            return left == 0

        await eventually(all_published, timeout=15)
        written = await system.on_service_loop("registration", count, registration_db, outbox)
        assert (await stream_info(cluster.url, "REGISTRATION")).state.messages == written
