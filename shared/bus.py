"""The NATS JetStream bus: streams, the outbox relay, and the consumer runner with its inbox."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import nats
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.errors import NoServersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    PubAck,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError
from sqlalchemy import bindparam, delete, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession as SQLAlchemyAsyncSession

from shared import leases
from shared.db import Database, UnitOfWork
from shared.events import (
    REGISTRY,
    Envelope,
    Payload,
    decode_envelope,
    decode_payload,
    encode,
    producers,
)
from shared.logs import correlation_id
from shared.settings import Settings
from shared.tables import dead_letter, inbox, outbox
from shared.wakeups import woken

log = logging.getLogger(__name__)

DUPLICATE_WINDOW = timedelta(minutes=10)
PUBLISHED_EVENTS_KEPT = timedelta(days=1)
# Events can carry personal data (a check-in carries the attendee's name and e-mail for the
# evaluation invitation), so streams keep them for a limited time. A consumer that has been
# away longer than this must be rebuilt, not replayed.
STREAM_MAX_AGE = timedelta(days=30)


def stream_name(producer: str) -> str:
    return producer.upper()


async def connect(url: str, name: str) -> NATS:
    """Connect and keep reconnecting for ever; readiness reports the gap meanwhile."""

    async def _error(exc: Exception) -> None:
        log.warning("nats: %s", exc)

    return await nats.connect(
        url,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=5,
        allow_reconnect=True,
        error_cb=_error,
    )


async def ensure_streams(js: JetStreamContext) -> None:
    """Create or update every producer's stream: file storage with a duplicate window."""
    for producer in producers():
        config = StreamConfig(
            name=stream_name(producer),
            subjects=[f"{producer}.>"],
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW.total_seconds(),
            max_age=STREAM_MAX_AGE.total_seconds(),
        )
        try:
            await js.stream_info(config.name or "")
        except NotFoundError:
            await js.add_stream(config)
        else:
            await js.update_stream(config)


class Broker:
    """A service's connection, which can be absent while the broker is unreachable."""

    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.name = name
        self.nc: NATS | None = None
        # Set once connected: whoever awaits `jetstream()` before then waits for it.
        self._jetstream: asyncio.Future[JetStreamContext] | None = None

    async def run(self) -> None:
        """Connect (retrying until it works) and provision the streams."""
        while True:
            try:
                nc = await connect(self.url, self.name)
                js = nc.jetstream(timeout=5)
                await ensure_streams(js)
            except (TimeoutError, NoServersError, OSError, NatsTimeoutError) as exc:
                log.warning("broker not reachable yet: %s", exc)
                await asyncio.sleep(0.5)
                continue
            self.nc = nc
            self._connection().set_result(js)
            return

    async def run_in_background(self) -> None:
        self._task = asyncio.create_task(self.run())

    def _connection(self) -> asyncio.Future[JetStreamContext]:
        if self._jetstream is None:
            self._jetstream = asyncio.get_running_loop().create_future()
        return self._jetstream

    async def jetstream(self) -> JetStreamContext:
        """The JetStream context, once the broker has been reached."""
        return await asyncio.shield(self._connection())

    @property
    def ready(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    async def close(self) -> None:
        task = getattr(self, "_task", None)
        if task is not None and not task.done():
            task.cancel()
        if self.nc is not None and not self.nc.is_closed:
            # Not drain(): the consumers are already stopped and anything unacked is
            # redelivered, while a cancelled pull fetch would make drain() wait its full
            # timeout.
            await self.nc.close()


class OutboxRelay:
    """Publishes committed outbox rows with Nats-Msg-Id = event_id.

    Rows committed by this process are handed over right after commit and published at
    once (the fast path). A poll leases the rows the fast path could not publish (broker
    down, process stopped) once they are older than a grace period, so two instances do
    not both publish a fresh row.
    """

    GRACE = timedelta(seconds=5)

    def __init__(self, db: Database, broker: Broker, *, batch: int = 200) -> None:
        self.db = db
        self.broker = broker
        self.batch = batch
        self._fresh: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        db.on_commit("outbox", self.hand_over)

    def hand_over(self, rows: list[dict[str, Any]]) -> None:
        self._fresh.extend(rows)
        self._wake.set()

    async def run(self) -> None:
        js = await self.broker.jetstream()
        next_prune = next_erasure_check = time.monotonic()
        while True:
            self._wake.clear()
            try:
                published = await self.publish_fresh(js)
                published += await self.relay_leftovers(js)
                # Once a second at most while idle: under load the relay loops per batch.
                if time.monotonic() >= next_erasure_check:
                    erased = await self.erase_from_streams(js)
                    published += erased
                    if not erased:
                        next_erasure_check = time.monotonic() + 1.0
            except Exception:
                log.exception("outbox relay failed; retrying")
                published = 0
                await asyncio.sleep(0.5)
            if published:
                continue
            if time.monotonic() >= next_prune:
                next_prune = time.monotonic() + 3600
                try:
                    await self.prune()
                except Exception:
                    # Personal data outstays its time until the next try: say so.
                    log.exception("outbox prune failed; trying again in an hour")
            await woken(self._wake, 1.0)

    async def _publish(self, js: JetStreamContext, rows: list[Any]) -> list[PubAck | BaseException]:
        acks: list[PubAck | BaseException] = await asyncio.gather(
            *(
                js.publish(row["subject"], row["body"], headers={"Nats-Msg-Id": row["event_id"]})
                for row in rows
            ),
            return_exceptions=True,
        )
        return acks

    async def publish_fresh(self, js: JetStreamContext) -> int:
        rows, self._fresh = self._fresh, []
        if not rows:
            return 0
        acks = await self._publish(js, rows)
        done = [
            (row["event_id"], ack.seq)
            for row, ack in zip(rows, acks, strict=True)
            if isinstance(ack, PubAck)
        ]
        if done:
            await self._mark_published(done)
        if len(done) < len(rows):
            log.warning("%d events not published yet; the poll retries them", len(rows) - len(done))
            await asyncio.sleep(0.2)
        return len(done)

    async def _mark_published(self, done: list[tuple[str, int]]) -> None:
        """Record each event as published, with its sequence in the stream: an erasure
        deletes the message by it. A duplicate's ack names the first copy's sequence."""
        async with self.db.unit() as uow:
            await uow.execute(
                update(outbox)
                .where(outbox.c.event_id == bindparam("done_event_id"))
                .values(
                    published_at=datetime.now(UTC),
                    stream_seq=bindparam("done_seq"),
                    claimed_until=None,
                ),
                [{"done_event_id": event_id, "done_seq": seq} for event_id, seq in done],
            )

    async def prune(self) -> None:
        """Published events may carry personal data (a check-in's name and e-mail): keep
        them only as long as the broker's duplicate window could still need them.

        An event naming a person keeps its row, emptied, while the stream keeps the
        message: its sequence is how an erasure finds the message."""
        now = datetime.now(UTC)
        cutoff = now - PUBLISHED_EVENTS_KEPT
        async with self.db.unit() as uow:
            await uow.execute(
                delete(outbox)
                .where(outbox.c.published_at.is_not(None))
                .where(outbox.c.published_at < cutoff)
                .where(outbox.c.person.is_(None) | (outbox.c.published_at < now - STREAM_MAX_AGE))
            )
            await uow.execute(
                update(outbox)
                .where(outbox.c.published_at.is_not(None))
                .where(outbox.c.published_at < cutoff)
                .where(outbox.c.body != b"")
                .values(body=b"")
            )
            uow.forget_after_commit()

    async def erase_from_streams(self, js: JetStreamContext) -> int:
        """Delete the stored messages of erased people (forget_person) from the streams.

        A row is done once its message is deleted; until then it stays, so a broker that
        is down only delays this. Rows not yet published are first published as
        placeholders by the ordinary relay, which yields their sequence either way: the
        placeholder's own, or the first copy's if the original got through meanwhile.
        """
        async with self.db.session() as session:
            rows = (
                await SQLAlchemyAsyncSession.execute(
                    session,
                    select(outbox.c.id, outbox.c.subject, outbox.c.stream_seq)
                    .where(outbox.c.person_erased_at.is_not(None))
                    .where(outbox.c.published_at.is_not(None))
                    .order_by(outbox.c.id)
                    .limit(self.batch),
                )
            ).all()
        if not rows:
            return 0
        for row in rows:
            if row.stream_seq is None:
                # Published before sequences were recorded: the message ages out with
                # the stream's max age.
                log.warning("outbox row %s has no stream sequence to delete", row.id)
                continue
            # Not found means already gone: deleted by an earlier try, or aged out.
            with suppress(NotFoundError):
                # Without no_erase the server overwrites the message's bytes in its store.
                await js.delete_msg(stream_name(row.subject.split(".", 1)[0]), row.stream_seq)
        async with self.db.unit() as uow:
            await uow.execute(delete(outbox).where(outbox.c.id.in_([row.id for row in rows])))
            uow.forget_after_commit()
        log.info("deleted %d erased people's events from the streams", len(rows))
        return len(rows)

    async def relay_leftovers(self, js: JetStreamContext) -> int:
        rows = await leases.lease(
            self.db,
            outbox,
            "published_at",
            limit=self.batch,
            period=timedelta(seconds=30),
            older_than=datetime.now(UTC) - self.GRACE,
        )
        if not rows:
            return 0
        acks = await self._publish(js, [row._mapping for row in rows])
        done = [
            (row.event_id, ack.seq)
            for row, ack in zip(rows, acks, strict=True)
            if isinstance(ack, PubAck)
        ]
        for row, ack in zip(rows, acks, strict=True):
            if not isinstance(ack, PubAck):
                await leases.release(self.db, outbox, row.id, repr(ack), timedelta(seconds=1))
        if done:
            await self._mark_published(done)
        if len(done) < len(rows):
            await asyncio.sleep(0.2)
        return len(done)


async def forget_person(uow: UnitOfWork, person: str) -> None:
    """Erase a person's events from this producer's outbox and, through the relay, from
    its stream (OutboxRelay.erase_from_streams).

    The bodies are replaced at once by a placeholder carrying nothing personal. An
    event not yet published is published as that placeholder under the same
    Nats-Msg-Id, and then deleted like the others: this way the relay learns the
    sequence of a copy that reached the broker without its ack reaching us.
    """
    rows = (
        await uow.execute(
            select(outbox.c.id, outbox.c.event_id, outbox.c.subject)
            .where(outbox.c.person == person)
            .where(outbox.c.person_erased_at.is_(None))
        )
    ).all()
    now = datetime.now(UTC)
    for row in rows:
        producer = row.subject.split(".", 1)[0]
        placeholder = Envelope(
            event_id=row.event_id,
            # A type no consumer handles: one that sees it acks and skips it.
            subject=f"{producer}.event.erased",
            occurred_at=now,
            producer=producer,
            correlation_id=uow.correlation_id,
            version=1,
            data=msgspec.Raw(b"{}"),
        )
        await uow.execute(
            update(outbox)
            .where(outbox.c.id == row.id)
            .values(subject=placeholder.subject, body=encode(placeholder), person_erased_at=now)
        )
    uow.forget_after_commit()


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
# The earlier shape, with the settings bound in by a `handlers(settings)` factory; accepted
# by `ServiceSpec.handlers` through `adapt` until step 3 of issue 9 removes both.
PartialHandler = Callable[[UnitOfWork, Any, Envelope], Awaitable[None]]


def adapt(
    handlers: Mapping[str, Handler] | Callable[[Settings], Mapping[str, PartialHandler]],
    settings: Settings,
) -> dict[str, Handler]:
    """The handlers by subject, whether given as a mapping or by the earlier factory."""
    if isinstance(handlers, Mapping):
        return dict(handlers)
    return {subject: _ignoring_settings(h) for subject, h in handlers(settings).items()}


def _ignoring_settings(handler: PartialHandler) -> Handler:
    async def apply(uow: UnitOfWork, _settings: Settings, data: Any, envelope: Envelope) -> None:
        await handler(uow, data, envelope)

    return apply


class Consumer:
    """A durable pull consumer: inbox in the effect's transaction, ack after commit.

    Transient failures are nak'ed with back-off; after `max_deliver` tries the
    message is recorded as dead and terminated, and the consumer goes on.
    Event types it does not know are acked and logged.
    """

    def __init__(
        self,
        db: Database,
        broker: Broker,
        *,
        name: str,
        stream: str,
        settings: Settings,
        handlers: Mapping[str, Handler],
        max_deliver: int = 5,
        backoff: tuple[float, ...] = (0.2, 1.0, 5.0, 15.0),
        ack_wait: float = 30.0,
    ) -> None:
        self.db = db
        self.broker = broker
        self.name = name
        self.stream = stream
        self.settings = settings
        self.handlers = handlers
        self.max_deliver = max_deliver
        self.backoff = backoff
        self.ack_wait = ack_wait
        self.handled = 0

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
        try:
            envelope = decode_envelope(message.data)
        except msgspec.DecodeError as exc:
            await self._dead(message, None, f"undecodable envelope: {exc}")
            return
        token = correlation_id.set(envelope.correlation_id)
        try:
            handler = self.handlers.get(envelope.subject)
            if handler is None:
                # Types this consumer does not handle are acked: a new event type
                # from a newer producer must never stall an older consumer.
                log.log(
                    logging.DEBUG if envelope.subject in REGISTRY else logging.INFO,
                    "skipping event type this consumer does not handle",
                    extra={"subject": envelope.subject, "event_id": envelope.event_id},
                )
                await message.ack()
                return
            try:
                await self.apply(envelope, handler)
            except Exception as exc:
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
        finally:
            correlation_id.reset(token)

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
