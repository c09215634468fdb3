"""Prometheus metrics at /metrics: HTTP requests and latency, the outbox, the consumers, dead
letters, the mail queue, and the sizes of registration's group commits.

Two kinds, so that the figures are right however many processes serve a service:
- counters and histograms of what happened in a process (requests, redeliveries, dead
  letters, batch sizes) are prometheus-client metrics. Under several worker processes,
  PROMETHEUS_MULTIPROC_DIR (set before the workers start, emptied at each start) makes each
  process write them to its own files there, and a scrape answered by any worker adds
  them all up.
- gauges of the service's state (the outbox and mail backlogs, what a consumer has still
  to take) are read at scrape time from the database and the broker, where every instance
  sees the same thing: no process keeps them, so none can be stale or counted twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from litestar import Response, get
from litestar.datastructures import State
from litestar.middleware.base import DefineMiddleware
from litestar.plugins.prometheus import PrometheusConfig
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession as SQLAlchemyAsyncSession

from shared.tables import mail_queue, outbox

if TYPE_CHECKING:
    from shared.service import Runtime

log = logging.getLogger(__name__)

REDELIVERIES = Counter(
    "capitals_consumer_redeliveries",
    "Events delivered to a consumer again (a failed or unacknowledged earlier delivery).",
    ["service", "consumer"],
)
DEAD_LETTERS = Counter(
    "capitals_dead_letters",
    "Events a consumer gave up on and recorded as dead letters.",
    ["service", "consumer"],
)
BATCH_SIZE = Histogram(
    "capitals_registration_batch_size",
    "Registrations committed together in one transaction (the group commit).",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)

# The broker may be down while scraped: its gauges are then left out, not waited for.
BROKER_WAIT = 1.0


def http_metrics(service: str) -> DefineMiddleware:
    """Litestar's request count and latency middleware, labelled by route template (never
    the path itself, which can carry a link secret)."""
    return PrometheusConfig(
        app_name=service, prefix="capitals_http", group_path=True, exclude=["/metrics"]
    ).middleware


def _process_registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


class _Read(Collector):
    """Families computed before the scrape (the reads are async; collect() is not)."""

    def __init__(self, families: Sequence[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


async def _database_gauges(runtime: Runtime) -> list[Metric]:
    service = runtime.spec.name
    unpublished = outbox.c.published_at.is_(None)
    async with runtime.db.session() as session:
        row = (
            await SQLAlchemyAsyncSession.execute(
                session,
                select(
                    select(func.count()).select_from(outbox).where(unpublished).scalar_subquery(),
                    select(func.min(outbox.c.created_at)).where(unpublished).scalar_subquery(),
                    select(func.count())
                    .select_from(mail_queue)
                    .where(mail_queue.c.sent_at.is_(None), mail_queue.c.dead_at.is_(None))
                    .scalar_subquery(),
                ),
            )
        ).one()
    backlog, oldest, mail_backlog = row
    if isinstance(oldest, str):  # SQLite answers min() of a timestamp as text
        oldest = datetime.fromisoformat(oldest)
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    age = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
    families: list[Metric] = []
    for name, text, value in (
        ("capitals_outbox_backlog", "Events committed and not yet published.", backlog),
        (
            "capitals_outbox_oldest_seconds",
            "Age of the oldest event not yet published (0 when none is waiting).",
            max(age, 0.0),
        ),
        ("capitals_mail_queue_backlog", "Mails queued and not yet sent.", mail_backlog),
    ):
        family = GaugeMetricFamily(name, text, labels=["service"])
        family.add_metric([service], float(value))
        families.append(family)
    return families


async def _consumer_gauges(runtime: Runtime) -> list[Metric]:
    family = GaugeMetricFamily(
        "capitals_consumer_pending",
        "Events in the stream this consumer has not acknowledged yet (not yet delivered, "
        "or delivered and being handled).",
        labels=["service", "consumer"],
    )
    if runtime.broker.ready and runtime.consumers:
        try:
            async with asyncio.timeout(BROKER_WAIT):
                js = await runtime.broker.jetstream()
                for consumer in runtime.consumers:
                    info = await js.consumer_info(consumer.stream, consumer.name)
                    pending = (info.num_pending or 0) + (info.num_ack_pending or 0)
                    family.add_metric([runtime.spec.name, consumer.name], float(pending))
        except Exception as exc:
            log.warning("consumer figures not read for /metrics: %r", exc)
            return []
    return [family]


@get(
    "/metrics",
    operation_id="metrics",
    include_in_schema=False,
    media_type=CONTENT_TYPE_LATEST,
    exclude_from_csrf=True,
)
async def metrics(state: State) -> Response[bytes]:
    """Prometheus text format, without authentication: operators keep it off the public
    proxy (DESIGN.md, Operations at scale)."""
    runtime: Runtime = state.runtime
    read = CollectorRegistry(auto_describe=False)
    families = await _consumer_gauges(runtime)
    try:
        families += await _database_gauges(runtime)
    except Exception as exc:
        log.warning("database figures not read for /metrics: %r", exc)
    read.register(_Read(families))
    body = generate_latest(_process_registry()) + generate_latest(read)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
