"""The outbox relay: events committed with their cause are published after commit, once."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from nats.js import JetStreamContext
from nats.js.api import PubAck
from nats.js.errors import NotFoundError
from opentelemetry.trace import Span, Tracer
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession as SQLAlchemyAsyncSession

from shared import leases, tracing
from shared.broker import STREAM_MAX_AGE, Broker, stream_name
from shared.db import Database, UnitOfWork
from shared.events import Envelope, encode
from shared.tables import outbox
from shared.wakeups import woken

log = logging.getLogger(__name__)

PUBLISHED_EVENTS_KEPT = timedelta(days=1)
# How often the relay looks for erased events left in the streams when no erasure was
# committed in this process.
ERASURE_CHECK_EVERY = 30.0
# The after-commit kind (Database.on_commit) of a transaction that erased a person's events.
ERASURE = "erasure"


# How long a process owns an outbox row it is about to publish: from the commit that wrote
# the row (the fast path) or from the poll that leased it. A crashed instance's rows are
# free again this long after, and the other instances' polls publish them.
CLAIM = timedelta(seconds=4)
# A publish that has no ack within this long counts as failed; the row is retried.
PUBLISH_TIMEOUT = 1.0
# A row is published only while at least this much of its claim is left: time for the
# publish and for recording it as published before another instance may take the row.
CLAIM_LEFT_TO_PUBLISH = timedelta(seconds=2.5)


class OutboxRelay:
    """Publishes committed outbox rows with Nats-Msg-Id = event_id, each from one instance.

    Every row is written claimed by the process that commits it (`claimed_until`), and
    handed to that process's relay right after commit, which publishes it at once (the
    fast path). A poll leases the rows whose claim has run out: the fast path could not
    publish them (broker down, process killed). A row is published only while its
    claim has `CLAIM_LEFT_TO_PUBLISH` left, so two instances never publish one row;
    the broker's duplicate window is left only the publish whose ack was lost.
    """

    def __init__(
        self, db: Database, broker: Broker, *, batch: int = 200, tracer: Tracer | None = None
    ) -> None:
        self.db = db
        # Set when the service traces: each publish of a traced row gets a producer span.
        self.tracer = tracer
        self.broker = broker
        self.batch = batch
        self._fresh: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        # When the first claim on a row not yet published runs out (the poll's last look).
        self._first_claim_end: datetime | None = None
        self._erasure_due = True
        db.on_commit("outbox", self.hand_over)
        db.on_commit(ERASURE, self.erasure_committed)

    def hand_over(self, rows: list[dict[str, Any]]) -> None:
        self._fresh.extend(rows)
        self._wake.set()

    def erasure_committed(self, _rows: object = None) -> None:
        self._erasure_due = True
        self._wake.set()

    async def run(self) -> None:
        js = await self.broker.jetstream()
        next_prune = next_erasure_check = time.monotonic()
        while True:
            self._wake.clear()
            idle = 1.0
            try:
                published = await self.publish_fresh(js)
                published += await self.relay_leftovers(js)
                # At once after an erasure committed here; otherwise now and then, for
                # one whose deletions failed or that another instance left unfinished.
                if self._erasure_due or time.monotonic() >= next_erasure_check:
                    self._erasure_due = False
                    erased = await self.erase_from_streams(js)
                    published += erased
                    if not erased:
                        next_erasure_check = time.monotonic() + ERASURE_CHECK_EVERY
                if not published and self._first_claim_end is not None:
                    # Rows another instance holds are taken as soon as its claim runs out.
                    left = (self._first_claim_end - datetime.now(UTC)).total_seconds()
                    idle = min(idle, max(0.05, left))
            except Exception:
                log.exception("outbox relay failed; retrying")
                published = 0
                await asyncio.sleep(0.5)
            if published:
                # While events flow, erased ones among them are looked for once a second
                # (an erasure can overtake its event's publication).
                next_erasure_check = min(next_erasure_check, time.monotonic() + 1.0)
                continue
            if time.monotonic() >= next_prune:
                next_prune = time.monotonic() + 3600
                try:
                    await self.prune()
                except Exception:
                    # Personal data outstays its time until the next try: say so.
                    log.exception("outbox prune failed; trying again in an hour")
            await woken(self._wake, idle)

    async def _publish(
        self, js: JetStreamContext, rows: Sequence[Mapping[str, Any]]
    ) -> list[PubAck | BaseException]:
        spans = [self._publish_span(row) for row in rows]
        acks: list[PubAck | BaseException] = await asyncio.gather(
            *(
                js.publish(
                    row["subject"],
                    row["body"],
                    headers=_headers(row, span),
                    timeout=PUBLISH_TIMEOUT,
                )
                for row, span in zip(rows, spans, strict=True)
            ),
            return_exceptions=True,
        )
        for span, ack in zip(spans, acks, strict=True):
            if span is not None:
                tracing.end_publish(span, ack)
        return acks

    def _publish_span(self, row: Mapping[str, Any]) -> Span | None:
        """A producer span in the trace of the change that wrote the row (None untraced)."""
        if self.tracer is None or not row.get("traceparent"):
            return None
        return tracing.start_publish(self.tracer, row["subject"], row["event_id"], row)

    async def publish_fresh(self, js: JetStreamContext) -> int:
        fresh, self._fresh = self._fresh, []
        if not fresh:
            return 0
        rows, late = _still_ours(fresh)
        if late:
            # Too close to the end of the claim to publish safely: the poll (of whichever
            # instance) takes these once the claim has run out.
            log.info("%d events left to the outbox poll", late)
        acks = await self._publish(js, rows)
        done = [
            (row["event_id"], ack.seq)
            for row, ack in zip(rows, acks, strict=True)
            if isinstance(ack, PubAck)
        ]
        if done:
            await self._mark_published(done)
        failed = [row for row, ack in zip(rows, acks, strict=True) if not isinstance(ack, PubAck)]
        if failed:
            # A stream electing a new leader answers again within seconds: try these again
            # while the claim lasts, rather than leave them to the poll until it runs out.
            log.warning("%d events not published yet; retrying them", len(failed))
            self._fresh.extend(dict(row) for row in failed)
            self._wake.set()
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
        free, self._first_claim_end = await leases.survey(self.db, outbox, "published_at")
        if not free:
            return 0
        leased = await leases.lease(self.db, outbox, "published_at", limit=self.batch, period=CLAIM)
        if not leased:
            return 0
        # The lease may have waited for the database: publish only what is still safely ours.
        rows, _ = _still_ours([row._mapping for row in leased])
        acks = await self._publish(js, rows)
        done = [
            (row["event_id"], ack.seq)
            for row, ack in zip(rows, acks, strict=True)
            if isinstance(ack, PubAck)
        ]
        for row, ack in zip(rows, acks, strict=True):
            if not isinstance(ack, PubAck):
                await leases.release(self.db, outbox, row["id"], repr(ack), timedelta(seconds=1))
        if done:
            await self._mark_published(done)
        if len(done) < len(rows):
            await asyncio.sleep(0.2)
        return len(done)


def _headers(row: Mapping[str, Any], span: Span | None) -> dict[str, str]:
    headers = {"Nats-Msg-Id": row["event_id"]}
    if span is not None:
        # W3C traceparent of the publish span: the consumers continue the trace from it.
        headers.update(tracing.headers_of(span))
    return headers


def _still_ours(rows: Sequence[Mapping[str, Any]]) -> tuple[list[Mapping[str, Any]], int]:
    """The rows whose claim leaves time to publish them, and how many do not."""
    deadline = datetime.now(UTC) + CLAIM_LEFT_TO_PUBLISH
    ours = [row for row in rows if row["claimed_until"] >= deadline]
    return ours, len(rows) - len(ours)


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
    if rows:
        uow.committed.setdefault(ERASURE, []).append({"person": person})
    uow.forget_after_commit()
