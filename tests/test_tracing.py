"""OpenTelemetry tracing: one trace follows a registration from the request through the
outbox and the broker into scheduling and evaluation; without OTEL_EXPORTER_OTLP_ENDPOINT
nothing of it runs."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import nats
import pytest
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from shared.broker import Broker
from shared.clock import clock
from shared.db import Database
from shared.events import contracts as ev
from shared.outbox import OutboxRelay
from shared.tables import outbox
from tests.registration_support import open_training, person, register
from tests.support import (
    DATABASE_KINDS,
    NatsServer,
    System,
    database_kind,
    eventually,
    infrastructure_db,
    running_system,
)


class Collector:
    """An OTLP http/protobuf receiver on loopback: what the services' exporters send."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, ExportTraceServiceRequest]] = []
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                received.append((self.path, request))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    @contextmanager
    def running(self) -> Iterator[Collector]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()

    def spans(self) -> list[tuple[str, str, bytes]]:
        """(service name, span name, trace id) of every span received."""
        found = []
        for _, request in self.requests:
            for resource_spans in request.resource_spans:
                service = next(
                    a.value.string_value
                    for a in resource_spans.resource.attributes
                    if a.key == "service.name"
                )
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        found.append((service, span.name, span.trace_id))
        return found


def service_of(span: ReadableSpan) -> str:
    return str(span.resource.attributes["service.name"])


def one(spans: Sequence[ReadableSpan], **wanted: Any) -> ReadableSpan:
    """The one span with these properties (service, name, kind, parent span id)."""
    found = [
        span
        for span in spans
        if all(
            (
                service_of(span)
                if key == "service"
                else span.parent.span_id
                if key == "parent" and span.parent is not None
                else None
                if key == "parent"
                else getattr(span, key)
            )
            == value
            for key, value in wanted.items()
        )
    ]
    assert len(found) == 1, (wanted, [(service_of(s), s.name, s.kind) for s in spans])
    return found[0]


def traced(system: System) -> InMemorySpanExporter:
    """Every service's spans, also kept in memory as they end."""
    memory = InMemorySpanExporter()
    for app in system.apps.values():
        app.state.tracing.provider.add_span_processor(SimpleSpanProcessor(memory))
    return memory


async def tap(nats_url: str, subject: str) -> tuple[Any, list[Any]]:
    """A plain NATS subscription that keeps the messages published on `subject`."""
    connection = await nats.connect(nats_url)
    seen: list[Any] = []

    async def keep(message: Any) -> None:
        seen.append(message)

    await connection.subscribe(subject, cb=keep)
    await connection.flush()
    return connection, seen


async def test_a_registration_is_one_trace_from_the_request_into_scheduling_and_evaluation(
    tmp_path: Path, db_kind: str
) -> None:
    with Collector().running() as collector:
        async with running_system(
            tmp_path, db_kind, OTEL_EXPORTER_OTLP_ENDPOINT=collector.url
        ) as system:
            memory = traced(system)
            training = await open_training(system.nats.url, system.registration)
            connection, messages = await tap(system.nats.url, "registration.>")
            try:
                registered = await register(system.registration, training.id, person(1))
                spans = await _trace_into_scheduling(memory, registered["id"])
                request = one(
                    spans,
                    kind=SpanKind.SERVER,
                    name="POST /trainings/{training_id}/registrations",
                )
                assert request.attributes is not None
                assert request.attributes["http.route"] == "/trainings/{training_id}/registrations"
                trace_id = request.context.trace_id
                spans = [span for span in spans if span.context.trace_id == trace_id]
                # The group commit applies the registration outside the request's task, in
                # its trace: the event is published under a producer span of the request.
                publish = one(
                    spans,
                    name="registration.registration.confirmed publish",
                    parent=request.context.span_id,
                )
                assert publish.kind == SpanKind.PRODUCER
                assert publish.attributes is not None
                assert (
                    publish.attributes["messaging.destination.name"]
                    == "registration.registration.confirmed"
                )
                # The message carries the publish span's context as a W3C traceparent.
                confirmed = next(
                    m for m in messages if m.subject == "registration.registration.confirmed"
                )
                version, traced_id, parent_id, flags = confirmed.headers["traceparent"].split("-")
                assert (version, traced_id, parent_id) == (
                    "00",
                    f"{trace_id:032x}",
                    f"{publish.context.span_id:016x}",
                )
                assert int(flags, 16) & 1  # sampled
                # Scheduling continues the trace: the consumer span, then its unit of work.
                consumed = one(
                    spans,
                    service="capitals-scheduling",
                    name="registration.registration.confirmed process",
                    parent=publish.context.span_id,
                )
                assert consumed.kind == SpanKind.CONSUMER
                one(
                    spans,
                    service="capitals-scheduling",
                    name="unit of work",
                    parent=consumed.context.span_id,
                )
                # Evaluation takes the same event and skips it, in the same trace.
                skipped = await eventually(
                    lambda: _span(
                        memory, "capitals-evaluation", "registration.registration.confirmed process"
                    )
                )
                assert skipped.context.trace_id == trace_id
                assert skipped.parent is not None
                assert skipped.parent.span_id == publish.context.span_id
                assert skipped.attributes is not None
                assert skipped.attributes["capitals.skipped"] is True

                # The participant comes on the first day: evaluation's handler runs in the
                # check-in request's trace (a command's unit of work wrote the event).
                first_day = datetime.combine(training.starts_on, time(8), tzinfo=UTC)
                clock.set(first_day)
                checked = await system.registration.post(
                    f"/registrations/{registered['id']}/check-in",
                    headers=system.token("organiser", ["EE"]),
                )
                assert checked.status_code == 200, checked.text
                handled = await eventually(
                    lambda: _span(
                        memory,
                        "capitals-evaluation",
                        "registration.registration.checked_in process",
                    )
                )
                spans = list(memory.get_finished_spans())
                check_in = one(
                    spans,
                    kind=SpanKind.SERVER,
                    name="POST /registrations/{registration_id}/check-in",
                )
                unit = one(
                    spans,
                    service="capitals-registration",
                    name="unit of work",
                    parent=check_in.context.span_id,
                )
                published = one(
                    spans,
                    name="registration.registration.checked_in publish",
                    parent=unit.context.span_id,
                )
                assert handled.context.trace_id == check_in.context.trace_id != trace_id
                assert handled.parent is not None
                assert handled.parent.span_id == published.context.span_id
                assert handled.status.is_ok
                assert handled.attributes is not None
                assert "capitals.skipped" not in handled.attributes
                one(
                    spans,
                    service="capitals-evaluation",
                    name="unit of work",
                    parent=handled.context.span_id,
                )
                # A link's secret never reaches a span: the name is the route template, the
                # recorded path and URL are redacted.
                token = registered["manage_token"]
                managed = await system.registration.get(f"/manage/{token}?token={token}")
                assert managed.status_code == 200, managed.text
                spans = list(memory.get_finished_spans())
                manage = one(spans, kind=SpanKind.SERVER, name="GET /manage/{token}")
                assert manage.attributes is not None
                recorded = [str(value) for span in spans for value in span.attributes.values()]
                assert not any(token in value for value in recorded)
                assert manage.attributes["http.target"] == "/manage/[redacted]"
                assert manage.attributes["http.url"].endswith(  # type: ignore[union-attr]
                    "/manage/[redacted]?token=[redacted]"
                )
            finally:
                await connection.close()
    # At shutdown every service exported what it still held, over OTLP http/protobuf.
    assert {path for path, _ in collector.requests} == {"/v1/traces"}
    services = {
        service for service, _, exported in collector.spans() if exported == as_bytes(trace_id)
    }
    assert services == {"capitals-registration", "capitals-scheduling", "capitals-evaluation"}


def as_bytes(trace_id: int) -> bytes:
    return trace_id.to_bytes(16, "big")


async def _span(memory: InMemorySpanExporter, service: str, name: str) -> ReadableSpan | None:
    return next(
        (s for s in memory.get_finished_spans() if service_of(s) == service and s.name == name),
        None,
    )


async def _trace_into_scheduling(
    memory: InMemorySpanExporter, registration_id: str
) -> list[ReadableSpan]:
    """The spans once scheduling has handled the registration's event."""
    await eventually(
        lambda: _span(memory, "capitals-scheduling", "registration.registration.confirmed process")
    )
    return [
        span for span in memory.get_finished_spans() if service_of(span) != "capitals-evaluation"
    ]


async def test_without_the_setting_nothing_is_traced(tmp_path: Path, db_kind: str) -> None:
    async with running_system(tmp_path, db_kind, services=("registration", "scheduling")) as system:
        for app in system.apps.values():
            assert app.state.tracing is None
            assert app.state.runtime.db.tracer is None
            assert app.state.runtime.relay.tracer is None
        # No tracer provider was installed for the process either.
        assert not isinstance(trace.get_tracer_provider(), TracerProvider)
        training = await open_training(system.nats.url, system.registration)
        connection, messages = await tap(system.nats.url, "registration.>")
        try:
            registered = await register(system.registration, training.id, person(1))
            await eventually(
                lambda: asyncio.sleep(
                    0, [m for m in messages if m.subject == "registration.registration.confirmed"]
                )
            )
        finally:
            await connection.close()
        for message in messages:
            assert "Nats-Msg-Id" in message.headers
            assert "traceparent" not in message.headers
        engine = create_async_engine(system.settings.database_url("registration"))
        try:
            async with engine.connect() as db:
                rows = (await db.execute(select(outbox.c.subject, outbox.c.traceparent))).all()
        finally:
            await engine.dispose()
        assert rows and all(row.traceparent is None for row in rows), rows
        assert registered["status"] == "confirmed"


@pytest.mark.parametrize("kind", DATABASE_KINDS)
async def test_an_event_the_poll_publishes_later_carries_the_trace_that_wrote_it(
    tmp_path: Path, kind: str
) -> None:
    """The instance that committed the event is gone before publishing it; another
    instance's poll publishes it once the claim runs out, with the writer's trace context."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("test")
    server = NatsServer(tmp_path / "nats")
    server.start()
    try:
        async with infrastructure_db(tmp_path, database_kind(kind)) as crashed:
            crashed.tracer = tracer
            with tracer.start_as_current_span("POST /trainings/{training_id}/complete") as request:
                async with crashed.unit() as uow:
                    uow.emit(ev.TrainingCompleted(id="training-1", revision=1))
            survivor = Database(crashed.url)
            broker = Broker(server.url, "survivor")
            relay = OutboxRelay(survivor, broker, tracer=tracer)
            connection, messages = await tap(server.url, "scheduling.>")
            await broker.run()
            task = asyncio.create_task(relay.run())
            try:

                async def published() -> bool:
                    # The message can arrive before the relay has ended its span (it ends
                    # once the broker acknowledges): wait for both, under load too.
                    ended = {span.name for span in memory.get_finished_spans()}
                    return bool(messages) and "scheduling.training.completed publish" in ended

                await eventually(published, timeout=10)
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                await connection.close()
                await broker.close()
                await survivor.dispose()
    finally:
        server.stop()
    spans = list(memory.get_finished_spans())
    unit = one(spans, name="unit of work", parent=request.get_span_context().span_id)
    publish = one(spans, name="scheduling.training.completed publish")
    assert publish.parent is not None
    assert publish.parent.span_id == unit.context.span_id
    assert publish.context.trace_id == request.get_span_context().trace_id
    _, traced_id, parent_id, _ = messages[0].headers["traceparent"].split("-")
    assert (traced_id, parent_id) == (
        f"{publish.context.trace_id:032x}",
        f"{publish.context.span_id:016x}",
    )
