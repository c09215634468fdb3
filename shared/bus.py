"""The NATS JetStream bus: the consumer runner with its inbox and dead letters."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import KW_ONLY, dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
)
from opentelemetry.trace import Tracer
from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shared import tracing
from shared.broker import Broker
from shared.db import Database, UnitOfWork
from shared.events import (
    REGISTRY,
    Envelope,
    Payload,
    decode_envelope,
    decode_payload,
)
from shared.logs import correlation_id
from shared.metrics import DEAD_LETTERS, REDELIVERIES
from shared.settings import Settings
from shared.tables import dead_letter, inbox

log = logging.getLogger(__name__)


async def forget_dead_letters(uow: UnitOfWork, person: str) -> None:
    """Delete the dead letters that mention a person (their bodies are whole events)."""
    needle = person.encode()
    rows = (await uow.execute(select(dead_letter.c.id, dead_letter.c.body))).all()
    found = [row.id for row in rows if needle in row.body]
    if found:
        await uow.execute(delete(dead_letter).where(dead_letter.c.id.in_(found)))
    uow.forget_after_commit()


def insert_if_absent(uow: UnitOfWork, table: Any) -> Any:
    """INSERT … ON CONFLICT DO NOTHING in the dialect of this database."""
    if uow.session.bind.dialect.name == "postgresql":  # type: ignore[union-attr]
        return postgresql_insert(table).on_conflict_do_nothing()
    return sqlite_insert(table).on_conflict_do_nothing()


async def lock_aggregate(uow: UnitOfWork, aggregate_id: str) -> None:
    """Serialise the handlers of one aggregate across instances until the transaction ends.

    An event can arrive before the row it concerns exists, so there may be no row to
    lock: two instances could each miss the other's uncommitted insert (a training and
    its early cancellation, a check-in and the person's erasure). On SQLite every write
    transaction already holds the database's one write lock.
    """
    if uow.session.bind.dialect.name == "postgresql":  # type: ignore[union-attr]
        await uow.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": aggregate_id},
        )


# `async def on_x(uow, settings, data, envelope) -> None`: the effect of one event.
Handler = Callable[[UnitOfWork, Settings, Any, Envelope], Awaitable[None]]


@dataclass(eq=False)
class Consumer:
    """A durable pull consumer: inbox in the effect's transaction, ack after commit.

    Transient failures are nak'ed with back-off; after `max_deliver` tries the
    message is recorded as dead and terminated, and the consumer goes on.
    Event types it does not know are acked and logged.
    """

    db: Database
    broker: Broker
    _: KW_ONLY
    name: str
    stream: str
    settings: Settings
    handlers: Mapping[str, Handler]
    max_deliver: int = 5
    backoff: tuple[float, ...] = (0.2, 1.0, 5.0, 15.0)
    # Short, so a message whose ack died with a node is delivered again within seconds;
    # a handler that runs longer keeps its message with in-progress acks (`_working`).
    ack_wait: float = 5.0
    # Set when the service traces: each event is handled in a consumer span.
    tracer: Tracer | None = None
    handled: int = field(default=0, init=False)

    def config(self) -> ConsumerConfig:
        return ConsumerConfig(
            name=self.name,
            durable_name=self.name,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait,
            # Our own counter decides when a message is dead; the server's
            # limit is a backstop above it.
            max_deliver=self.max_deliver + 5,
            filter_subjects=[f"{self.stream.lower()}.>"],
            max_ack_pending=1000,
        )

    async def run(self) -> None:
        while True:
            js = await self.broker.jetstream()
            try:
                # add_consumer with a name creates it or updates its configuration,
                # unlike pull_subscribe, which keeps an old configuration silently.
                await js.add_consumer(self.stream, self.config())
                sub = await js.pull_subscribe_bind(self.name, self.stream)
                await self._pull(sub)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Pull subscriptions can go quiet after a server restart: bind anew.
                log.warning("consumer %s restarting: %r", self.name, exc)
                await asyncio.sleep(0.5)

    async def _pull(self, sub: JetStreamContext.PullSubscription) -> None:
        idle = 0
        while True:
            try:
                # One message per request: a larger batch waits for the batch to
                # fill or the request to expire, which adds latency when quiet.
                messages = await sub.fetch(1, timeout=5)
            except (TimeoutError, NatsTimeoutError):
                idle += 1
                if idle >= 6:
                    # Nothing for 30 s: check the consumer is still there (it is
                    # gone if the server lost its store) by binding anew.
                    js = await self.broker.jetstream()
                    await js.consumer_info(self.stream, self.name)
                    idle = 0
                continue
            idle = 0
            for message in messages:
                await self.process(message)

    async def process(self, message: Msg) -> None:
        if message.metadata.num_delivered > 1:
            REDELIVERIES.labels(self.broker.name, self.name).inc()
        try:
            envelope = decode_envelope(message.data)
        except msgspec.DecodeError as exc:
            await self._dead(message, None, f"undecodable envelope: {exc}")
            return
        token = correlation_id.set(envelope.correlation_id)
        try:
            if self.tracer is None:
                await self._handle(message, envelope)
                return
            # The trace of the change that published the event goes on here.
            with tracing.consuming(self.tracer, self.name, message.headers, envelope):
                await self._handle(message, envelope)
        finally:
            correlation_id.reset(token)

    async def _handle(self, message: Msg, envelope: Envelope) -> None:
        handler = self.handlers.get(envelope.subject)
        if handler is None:
            # Types this consumer does not handle are acked: a new event type
            # from a newer producer must never stall an older consumer.
            log.log(
                logging.DEBUG if envelope.subject in REGISTRY else logging.INFO,
                "skipping event type this consumer does not handle",
                extra={"subject": envelope.subject, "event_id": envelope.event_id},
            )
            tracing.skipped()
            await message.ack()
            return
        try:
            async with self._working(message):
                await self.apply(envelope, handler)
        except Exception as exc:
            tracing.failed(exc)
            deliveries = message.metadata.num_delivered
            if deliveries >= self.max_deliver:
                log.exception(
                    "event is dead after %d deliveries",
                    deliveries,
                    extra={"subject": envelope.subject, "event_id": envelope.event_id},
                )
                await self._dead(message, envelope, repr(exc))
                return
            delay = self.backoff[min(deliveries - 1, len(self.backoff) - 1)]
            log.warning(
                "handler failed (delivery %d), retrying in %.1fs: %r",
                deliveries,
                delay,
                exc,
                extra={"subject": envelope.subject, "event_id": envelope.event_id},
            )
            await message.nak(delay=delay)
            return
        self.handled += 1
        await message.ack()

    @asynccontextmanager
    async def _working(self, message: Msg) -> AsyncIterator[None]:
        """While the block runs, tell the server every third of ack_wait that the message is
        still being worked on, so a slow handler is not raced by a redelivery."""

        async def in_progress() -> None:
            while True:
                await asyncio.sleep(self.ack_wait / 3)
                with suppress(Exception):  # a lost connection: the ack or nak decides later
                    await message.in_progress()

        task = asyncio.create_task(in_progress())
        try:
            yield
        finally:
            task.cancel()

    async def apply(self, envelope: Envelope, handler: Handler) -> None:
        """Record the event in the inbox and run the handler, in one transaction.

        The inbox row goes in first: if it is already there the event was applied
        (by this or another instance) and the transaction ends without effect.
        """
        payload_type = REGISTRY.get(envelope.subject, Payload)
        payload = decode_payload(envelope, payload_type)
        async with self.db.unit(envelope.correlation_id) as uow:
            recorded = await uow.execute(
                insert_if_absent(uow, inbox).values(
                    event_id=envelope.event_id,
                    subject=envelope.subject,
                    handled_at=datetime.now(UTC),
                )
            )
            if not recorded.rowcount:
                return
            await handler(uow, self.settings, payload, envelope)

    async def _dead(self, message: Msg, envelope: Envelope | None, error: str) -> None:
        async with self.db.unit() as uow:
            await uow.execute(
                dead_letter.insert().values(
                    consumer=self.name,
                    subject=message.subject,
                    event_id=envelope.event_id if envelope else None,
                    body=message.data,
                    error=error[:4000],
                    deliveries=message.metadata.num_delivered,
                    recorded_at=datetime.now(UTC),
                )
            )
        await message.term()
        DEAD_LETTERS.labels(self.broker.name, self.name).inc()
