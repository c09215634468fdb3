"""Every service serves Prometheus metrics at /metrics, and the figures follow what happens."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
import nats
from prometheus_client.parser import text_string_to_metric_families

from shared.broker import ensure_streams
from shared.events import Envelope, encode
from shared.settings import SERVICES
from tests.registration_support import open_training, person, register, served_registration
from tests.support import eventually, running_system

EVERY_SERVICE = {
    "capitals_http_requests",
    "capitals_http_request_duration_seconds",
    "capitals_outbox_backlog",
    "capitals_outbox_oldest_seconds",
    "capitals_mail_queue_backlog",
    "capitals_consumer_pending",
    "capitals_consumer_redeliveries",
    "capitals_dead_letters",
}


async def scrape(client: Any) -> dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    """Each family's samples by (sample name, sorted labels)."""
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        family.name: {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for sample in family.samples
        }
        for family in text_string_to_metric_families(response.text)
    }


def value(families: dict[str, Any], family: str, sample: str | None = None, **labels: str) -> float:
    wanted = (sample or family, tuple(sorted(labels.items())))
    return float(families[family].get(wanted, 0.0))


async def test_each_service_serves_its_metrics_without_a_token_and_outside_the_schema(
    tmp_path: Path,
) -> None:
    async with running_system(tmp_path) as system:
        for service in SERVICES:
            client = system.clients[service]
            await client.get("/health")
            families = await scrape(client)
            assert set(families) >= EVERY_SERVICE, (service, EVERY_SERVICE - set(families))
            # Requests are counted by route template, per service.
            health = value(
                families,
                "capitals_http_requests",
                "capitals_http_requests_total",
                app_name=service,
                method="GET",
                path="/health",
                status_code="200",
            )
            assert health >= 1
            assert value(families, "capitals_outbox_backlog", service=service) == 0
            schema = (await client.get("/schema/openapi.json")).json()
            assert "/metrics" not in schema["paths"]
        registration = system.clients["registration"]
        pending = await scrape(registration)
        assert (
            "capitals_consumer_pending",
            (("consumer", "registration-from-scheduling"), ("service", "registration")),
        ) in pending["capitals_consumer_pending"]


async def test_the_outbox_backlog_grows_while_the_broker_is_down_and_drains_after(
    tmp_path: Path,
) -> None:
    async with running_system(tmp_path, services=("registration",)) as system:
        client = system.registration
        training = await open_training(system.nats.url, client, capacity=10)
        system.nats.stop()
        try:
            for n in range(3):
                await register(client, training.id, person(n))
            families = await scrape(client)
            assert value(families, "capitals_outbox_backlog", service="registration") >= 3
            assert value(families, "capitals_outbox_oldest_seconds", service="registration") > 0
            # The broker is down: its gauges are left out rather than waited for.
            assert not families["capitals_consumer_pending"]
            # Three registrations went through the group commit.
            batches = value(
                families,
                "capitals_registration_batch_size",
                "capitals_registration_batch_size_count",
            )
            assert batches >= 1
            assert (
                value(
                    families,
                    "capitals_registration_batch_size",
                    "capitals_registration_batch_size_sum",
                )
                >= 3
            )
        finally:
            system.nats.start()

        async def drained() -> bool:
            families = await scrape(client)
            return value(families, "capitals_outbox_backlog", service="registration") == 0

        await eventually(drained, timeout=20)
        families = await scrape(client)
        assert value(families, "capitals_outbox_oldest_seconds", service="registration") == 0


async def _put(nats_url: str, subject: str, body: bytes) -> None:
    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream(timeout=5)
        await ensure_streams(js, None)
        await js.publish(subject, body)
    finally:
        await connection.close()


async def test_redeliveries_and_dead_letters_are_counted(tmp_path: Path) -> None:
    async with running_system(tmp_path, services=("registration",)) as system:
        client = system.registration
        labels = {"service": "registration", "consumer": "registration-from-scheduling"}
        before = await scrape(client)
        dead_before = value(
            before, "capitals_dead_letters", "capitals_dead_letters_total", **labels
        )
        again_before = value(
            before,
            "capitals_consumer_redeliveries",
            "capitals_consumer_redeliveries_total",
            **labels,
        )
        # Not an envelope at all: dead at once.
        await _put(system.nats.url, "scheduling.training.published", b"not json at all")
        # An envelope whose payload does not fit its type: retried, so delivered again.
        unfit = Envelope(
            event_id="unfit-1",
            subject="scheduling.training.published",
            occurred_at=datetime.now(UTC),
            producer="scheduling",
            correlation_id="c",
            version=1,
            data=msgspec.Raw(b'{"id": 5}'),
        )
        await _put(system.nats.url, unfit.subject, encode(unfit))

        async def counted() -> bool:
            families = await scrape(client)
            dead = value(families, "capitals_dead_letters", "capitals_dead_letters_total", **labels)
            again = value(
                families,
                "capitals_consumer_redeliveries",
                "capitals_consumer_redeliveries_total",
                **labels,
            )
            return dead == dead_before + 1 and again >= again_before + 1

        await eventually(counted, timeout=10)


async def test_with_a_multiprocess_directory_counters_are_kept_in_files_and_scraped_from_them(
    tmp_path: Path,
) -> None:
    # As `--workers N` will run it: every process writes its counters there, and whichever
    # answers the scrape adds them all up.
    shared_dir = tmp_path / "prometheus"
    shared_dir.mkdir()
    async with served_registration(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(shared_dir)) as served:
        client = httpx.AsyncClient(base_url=served.url)
        async with client:
            for _ in range(3):
                await client.get("/health")
            families = await scrape(client)
    assert list(shared_dir.glob("*.db")), "no per-process files written"
    health = value(
        families,
        "capitals_http_requests",
        "capitals_http_requests_total",
        app_name="registration",
        method="GET",
        path="/health",
        status_code="200",
    )
    assert health == 3
    assert value(families, "capitals_outbox_backlog", service="registration") == 0
