"""OpenTelemetry tracing, on when OTEL_EXPORTER_OTLP_ENDPOINT is set and off otherwise.

On, each service has a tracer provider of its own (its spans carry its name, also when a
test runs the three services in one process) exporting over OTLP http/protobuf. One
trace follows a change across services: the HTTP request's span is the parent of the
unit of work that writes an outbox row; the row keeps that context (`traceparent`), the
relay publishes it as a W3C `traceparent` header of the NATS message under a producer
span, and the consumer continues the trace from that header in a consumer span around
the handler's unit of work, whose own events carry it on.

Off, nothing is installed: no provider, no middleware, no span, no header; outbox rows
get no `traceparent`, as no span is ever current.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import context, propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, Tracer

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

    from shared.events import Envelope
    from shared.settings import Settings

TRACEPARENT = "traceparent"


class Tracing:
    """One service's tracer provider and tracer."""

    def __init__(self, service: str, provider: TracerProvider) -> None:
        self.service = service
        self.provider = provider
        self.tracer = provider.get_tracer("capitals")

    def http(self) -> list[Any]:
        """Litestar's OpenTelemetry middleware, a server span per request (Litestar runs it
        outside the router, so that unmatched paths are traced too), and one inside the
        router that names the span by the route template: never by the path, which can
        carry a link secret (redacted in the span's attributes as well)."""
        from litestar.plugins.opentelemetry import OpenTelemetryConfig

        return [
            OpenTelemetryConfig(
                tracer_provider=self.provider,
                scope_span_details_extractor=_method_only,
                server_request_hook_handler=_redact_path,
                exclude=["^/metrics$", "^/health$", "^/ready$"],
                # One span per request; the ASGI send and receive events add nothing here.
                exclude_spans=["receive", "send"],
            ).middleware,
            RouteNaming,
        ]

    def shutdown(self) -> None:
        """Export what is still buffered (blocking: call it in a thread)."""
        self.provider.shutdown()


def configure(service: str, settings: Settings) -> Tracing | None:
    """The service's tracing when OTEL_EXPORTER_OTLP_ENDPOINT is set, else None."""
    if not settings.otel_endpoint:
        return None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (read by Resource.create) still apply.
    provider = TracerProvider(resource=Resource.create({"service.name": f"capitals-{service}"}))
    provider.add_span_processor(BatchSpanProcessor(exporter(settings)))
    return Tracing(service, provider)


def exporter(settings: Settings) -> SpanExporter:
    """OTLP over http/protobuf to the endpoint, at /v1/traces as the specification says for
    OTEL_EXPORTER_OTLP_ENDPOINT (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT names the full URL)."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    endpoint = settings.env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or (
        f"{(settings.otel_endpoint or '').rstrip('/')}/v1/traces"
    )
    return OTLPSpanExporter(endpoint=endpoint)


def traceparent() -> str | None:
    """The W3C traceparent of the current span, if one is being recorded (never when off)."""
    if not trace.get_current_span().get_span_context().is_valid:
        return None
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get(TRACEPARENT)


def carrier() -> dict[str, str]:
    """The current trace context as headers, to be resumed elsewhere (`resumed`)."""
    parent = traceparent()
    return {TRACEPARENT: parent} if parent else {}


@contextmanager
def resumed(headers: Mapping[str, str] | None) -> Iterator[None]:
    """Make the trace context in `headers` current (nothing to do when they carry none)."""
    if not headers or TRACEPARENT not in headers:
        yield
        return
    token = context.attach(propagate.extract(dict(headers)))
    try:
        yield
    finally:
        context.detach(token)


def parent_context(headers: Mapping[str, str] | None) -> Context:
    """The context to start a span in from message headers (an empty one if they carry none)."""
    return propagate.extract(dict(headers or {}))


def start_publish(tracer: Tracer, subject: str, event_id: str, row: Mapping[str, Any]) -> Span:
    """A producer span for publishing an outbox row, a child of the span that wrote it."""
    return tracer.start_span(
        f"{subject} publish",
        context=parent_context({TRACEPARENT: row["traceparent"]}),
        kind=trace.SpanKind.PRODUCER,
        attributes={
            "messaging.system": "nats",
            "messaging.operation.type": "publish",
            "messaging.destination.name": subject,
            "messaging.message.id": event_id,
        },
    )


def end_publish(span: Span, ack: object) -> None:
    if isinstance(ack, BaseException):
        span.record_exception(ack)
        span.set_status(trace.Status(trace.StatusCode.ERROR, repr(ack)))
    span.end()


def headers_of(span: Span) -> dict[str, str]:
    """The W3C trace context of `span` as message headers."""
    headers: dict[str, str] = {}
    propagate.inject(headers, context=trace.set_span_in_context(span))
    return headers


@contextmanager
def consuming(
    tracer: Tracer, consumer: str, headers: Mapping[str, str] | None, envelope: Envelope
) -> Iterator[None]:
    """A consumer span around handling one event, continuing the trace its headers carry."""
    with tracer.start_as_current_span(
        f"{envelope.subject} process",
        context=parent_context(headers),
        kind=trace.SpanKind.CONSUMER,
        attributes={
            "messaging.system": "nats",
            "messaging.operation.type": "process",
            "messaging.destination.name": envelope.subject,
            "messaging.message.id": envelope.event_id,
            "messaging.consumer.group.name": consumer,
        },
    ):
        yield


def skipped() -> None:
    """The current consumer span's event was not for this consumer (acked, no handler)."""
    trace.get_current_span().set_attribute("capitals.skipped", True)


def failed(exc: BaseException) -> None:
    """The current span's work failed (it is retried or recorded as dead)."""
    span = trace.get_current_span()
    span.record_exception(exc)
    span.set_status(trace.Status(trace.StatusCode.ERROR, repr(exc)))


def _method_only(scope: Any) -> tuple[str, dict[str, str]]:
    # Before routing: the method alone until RouteNaming knows the route.
    return str(scope.get("method", "")).strip() or "HTTP", {}


class RouteNaming:
    """Names the request's span after the matched route template, once routing is done."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        route = scope.get("path_template")
        if route and scope["type"] == "http":
            span = trace.get_current_span()
            span.update_name(f"{scope['method']} {route}")
            span.set_attribute("http.route", route)
        await self.app(scope, receive, send)


def _redact_path(span: Span, _scope: Any) -> None:
    # The ASGI instrumentation records the path and the full URL: both without secrets.
    from shared.logs import redact

    for key in ("http.target", "url.path", "url.query", "http.url", "url.full"):
        recorded = getattr(span, "attributes", {}).get(key)
        if isinstance(recorded, str):
            # A query alone has no leading "?", which the redaction looks for.
            span.set_attribute(
                key, redact(f"?{recorded}")[1:] if key == "url.query" else redact(recorded)
            )
