"""Assembles a service: its Litestar app, database, bus, mail and consumers, in one lifespan."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import uuid
from collections.abc import AsyncIterator, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, get
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import NotAuthorizedException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.datastructures import ResponseSpec
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig
from litestar.types import Message, Receive, Scope, Send

from shared import auth, languages, templating
from shared.apidocs import ApiReference
from shared.asgi import HttpMiddleware
from shared.audit_pages import ROUTES as AUDIT_ROUTES
from shared.bodies import CapitalsRequest, NoNulMiddleware
from shared.broker import Broker
from shared.bus import Consumer, Handler
from shared.db import Database
from shared.dead_mail import list_dead_mail
from shared.error_pages import exception_handlers
from shared.favicon import ROUTES as FAVICON_ROUTES
from shared.jobs import Job
from shared.login import ROUTES as LOGIN_ROUTES
from shared.logs import correlation_id
from shared.mail import MailSender, Transport
from shared.metrics import http_metrics, metrics
from shared.openapi import StrictStructs
from shared.outbox import OutboxRelay
from shared.prefix import mounted, prefixed_redirects
from shared.problems import problems
from shared.proxies import ForwardedMiddleware
from shared.settings import Section, SettingError, Settings
from shared.staff_directory import StaffDirectory
from shared.throttle import HitCounter
from shared.tracing import Tracing
from shared.tracing import configure as configure_tracing

log = logging.getLogger(__name__)

SHARED_TEMPLATES = Path(__file__).parent / "templates"
MAX_BODY = 1024 * 1024


@dataclass
class ServiceSpec:
    """What makes one service: its routes, the events it consumes, and its periodic jobs."""

    name: str
    title: str
    route_handlers: Sequence[Any]
    # The event handlers by subject.
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    jobs: Sequence[Job] = ()
    templates: Path | None = None
    dependencies: dict[str, Provide] = field(default_factory=dict)
    # The service's own settings (its settings.py), checked when the app is made.
    settings: type[Section] | None = None


class Runtime:
    """The running parts of one service instance."""

    def __init__(
        self, spec: ServiceSpec, settings: Settings, tracing: Tracing | None = None
    ) -> None:
        if not settings.nats_url:
            raise SettingError("NATS_URL: not set (`capitals up` starts a broker of its own)")
        self.spec = spec
        self.settings = settings
        self.tracing = tracing
        tracer = tracing.tracer if tracing is not None else None
        self.db = Database(settings.database_url(spec.name))
        self.db.tracer = tracer
        self.broker = Broker(settings.nats_url, name=spec.name, replicas=settings.nats_replicas)
        self.relay = OutboxRelay(self.db, self.broker, tracer=tracer)
        self.mailer = MailSender(
            self.db, Transport(settings.smtp_url, settings.mail_dir), settings.mail_from
        )
        handlers = spec.handlers
        self.consumers = [
            Consumer(
                self.db,
                self.broker,
                name=f"{spec.name}-from-{stream.lower()}",
                stream=stream.upper(),
                settings=settings,
                handlers={s: h for s, h in handlers.items() if s.startswith(f"{stream}.")},
                tracer=tracer,
            )
            for stream in sorted({subject.split(".", 1)[0] for subject in handlers})
        ]
        self.directory = StaffDirectory()
        self.rate_limit = HitCounter(self.db)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        # Read before the first request, so a revoked session never gets in meanwhile.
        await self.directory.refresh(self.db)
        await self.broker.run_in_background()
        parts: list[Coroutine[Any, Any, None]] = [
            self.directory.run(self.db),
            self.relay.run(),
            self.mailer.run(),
            self.db.checkpoints(),
        ]
        parts += [consumer.run() for consumer in self.consumers]
        parts += [job(self) for job in self.spec.jobs]
        self._tasks = [asyncio.create_task(part) for part in parts]
        for task in self._tasks:
            task.add_done_callback(_report_crash)
        # What exists after start-up lives as long as the process: keep the collector off it.
        gc.collect()
        gc.freeze()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        # Shutdown must end even if a part does not: anything unfinished is redone on
        # the next start (the outbox, the mail queue and unacked events all persist).
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=5)
            # A library call may swallow one cancel (asyncio.wait_for on Python 3.11 does
            # when its inner call finishes at that moment); ask again rather than leave a
            # task running that would hang the event loop's own shutdown.
            for _ in range(3):
                if not pending:
                    break
                for task in pending:
                    task.cancel()
                _, pending = await asyncio.wait(pending, timeout=1)
            for task in pending:
                log.warning("background task did not stop in time: %r", task.get_coro())
        parts = [self.broker.close(), self.db.dispose()]
        if self.tracing is not None:
            # Export the spans still buffered (the exporter blocks: in a thread).
            parts.append(asyncio.to_thread(self.tracing.shutdown))
        for part in parts:
            # Not wait_for: on a timeout it waits for the cancelled step to finish, which a
            # step that ignores the cancel never does.
            step = asyncio.ensure_future(part)
            done, _ = await asyncio.wait({step}, timeout=5)
            if not done:
                step.cancel()
                log.warning("shutdown step did not finish in time: %r", part)
            elif step.exception() is not None:
                log.warning("shutdown step did not finish cleanly", exc_info=step.exception())
        leftover = [
            task
            for task in asyncio.all_tasks()
            if task is not asyncio.current_task() and not task.done()
        ]
        for task in leftover:
            # What would keep the event loop from closing; named to be found.
            log.debug("task still running after stop: %r", task)

    async def ready(self) -> Readiness:
        try:
            await asyncio.wait_for(self.db.ping(), timeout=2)
            database = True
        except Exception:
            database = False
        why = self.broker.unready_because
        problems = {"nats": why} if why is not None else {}
        return Readiness(database and why is None, database, why is None, problems)


class Readiness(msgspec.Struct, omit_defaults=True):
    """What `/ready` answers: each dependency reachable or not, and why the broker is not."""

    ready: bool
    database: bool
    nats: bool
    problems: dict[str, str] = msgspec.field(default_factory=dict)


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task stopped", exc_info=task.exception())


class CorrelationMiddleware(HttpMiddleware):
    """Takes X-Correlation-ID from the request (or makes one) and echoes it in the response,
    with the headers every answer carries (security, caching)."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        given = dict(scope["headers"]).get(b"x-correlation-id", b"").decode("latin-1")
        cid = given[:100] if given else str(uuid.uuid4())
        token = correlation_id.set(cid)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"x-correlation-id", cid.encode("latin-1")),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    # Manage and invitation links carry secrets: never leak them as referrers.
                    (b"referrer-policy", b"no-referrer"),
                    (
                        b"content-security-policy",
                        b"default-src 'self'; img-src 'self' data:; style-src 'self' "
                        b"'unsafe-inline'; frame-ancestors 'none'; form-action 'self'",
                    ),
                ]
                # Manage pages, drafts, staff pages, exports, error details: by default no
                # browser or shared cache keeps an answer; a public route that may be cached
                # (the calendar feeds) says so itself.
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                sets_session = any(
                    name.lower() == b"set-cookie"
                    and value.startswith(auth.COOKIE_NAME.encode() + b"=")
                    for name, value in headers
                )
                if auth.stale_session(scope) and not sets_session:
                    # The browser would otherwise keep sending it until it expires (unless
                    # this answer is /login setting a fresh one).
                    headers.append(auth.cleared_session_cookie().to_encoded_header())
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            correlation_id.reset(token)


@get(
    "/health",
    operation_id="health",
    responses=problems(),
    exclude_from_csrf=True,
    sync_to_thread=False,
)
def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@get(
    "/ready",
    operation_id="ready",
    responses={
        **problems(),
        503: ResponseSpec(
            data_container=Readiness,
            description="Not ready: which of the database and the broker is not, and why.",
            generate_examples=False,
        ),
    },
)
async def ready(state: State) -> Response[Readiness]:
    """Readiness: the database and the broker are reachable."""
    checks: Readiness = await state.runtime.ready()
    return Response(checks, status_code=200 if checks.ready else 503)


def create_app(spec: ServiceSpec, settings: Settings) -> Litestar:
    """The Litestar app of one service, with everything wired in its lifespan.

    Raises SettingError naming the variable when the service's own settings are bad."""
    if spec.settings is not None:
        settings.section(spec.settings)

    # None unless OTEL_EXPORTER_OTLP_ENDPOINT is set: then nothing of tracing runs.
    tracing = configure_tracing(spec.name, settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        runtime = Runtime(spec, settings, tracing)
        app.state.runtime = runtime
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    def provide_db(state: State) -> Database:
        return state.runtime.db

    def provide_staff(request: Request[Any, Any, Any]) -> auth.Staff | None:
        return auth.staff_of(request)

    def provide_staff_member(request: Request[Any, Any, Any]) -> auth.Staff:
        staff = auth.staff_of(request)
        if staff is None:
            raise NotAuthorizedException(detail="a staff token is required")
        return staff

    def provide_settings() -> Settings:
        return settings

    # The path of the service's public URL ("" at the root): every route, page link,
    # redirect and the CSRF cookie live under it (shared.prefix).
    prefix = settings.prefix(spec.name)
    template_dirs: list[Path | os.PathLike[Any] | str] = [SHARED_TEMPLATES]
    if spec.templates:
        template_dirs.append(spec.templates)
    return Litestar(
        route_handlers=[
            mounted(
                prefix,
                [
                    health,
                    ready,
                    *LOGIN_ROUTES,
                    *FAVICON_ROUTES,
                    list_dead_mail,
                    *AUDIT_ROUTES,
                    metrics,
                    *spec.route_handlers,
                ],
            )
        ],
        after_request=prefixed_redirects(prefix),
        lifespan=[lifespan],
        state=State({"settings": settings, "service": spec.name, "tracing": tracing}),
        dependencies={
            "db": Provide(provide_db, sync_to_thread=False),
            "staff": Provide(provide_staff, sync_to_thread=False),
            # `who: StaffMember` and `settings: AppSettings` (shared.params).
            "who": Provide(provide_staff_member, sync_to_thread=False),
            "settings": Provide(provide_settings, sync_to_thread=False),
            **spec.dependencies,
        },
        exception_handlers=exception_handlers,
        plugins=[StrictStructs()],
        guards=[auth.authenticate],
        # Outermost first: everything after it sees the real client.
        middleware=[
            ForwardedMiddleware,
            http_metrics(spec.name),
            *(tracing.http() if tracing is not None else []),
            CorrelationMiddleware,
            NoNulMiddleware,
            # Innermost: acts only on the routes marked as participant pages.
            languages.SpeakingMiddleware,
        ],
        csrf_config=CSRFConfig(
            secret=settings.secret,
            cookie_name="capitals_csrf",
            cookie_httponly=True,
            cookie_samesite="strict",
            # Each service keeps its own, under its prefix, as it keeps its other paths.
            cookie_path=prefix or "/",
            # JSON API routes opt out (opt exclude_from_csrf): a cross-site page cannot
            # send JSON or a Bearer header without a CORS preflight we never allow.
            exclude_from_csrf_key=auth.CSRF_EXEMPT,
        ),
        template_config=TemplateConfig(
            directory=template_dirs,
            engine=JinjaTemplateEngine,
            engine_callback=lambda engine: templating.configure(
                engine.engine, settings, spec.name, prefix
            ),
        ),
        openapi_config=OpenAPIConfig(
            title=f"Capitals {spec.title}",
            version="1.0.0",
            path=f"{prefix}/schema",
            render_plugins=[ApiReference()],
        ),
        request_class=CapitalsRequest,
        request_max_body_size=MAX_BODY,
        response_headers=[],
        # Logging is the process's (shared.logs.configure): Litestar's default would put a
        # plain-text handler of its own on the root logger when the app is made.
        logging_config=None,
        debug=False,
        pdb_on_exception=False,
    )
