"""What the tests share: a real nats-server, real databases, and the three services running."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import nats
import pytest
from aiosmtpd.controller import Controller
from litestar.testing import AsyncTestClient
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from capitals.embedded import free_port, nats_server_binary
from shared.auth import issue_token
from shared.broker import ensure_streams
from shared.db import Database
from shared.events import Payload, encode, envelope_for
from shared.migrations import upgrade
from shared.settings import SERVICES, Settings, load_settings
from shared.tables import infrastructure

PG_DSN = os.environ.get("CAPITALS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
SECRET = "test-secret-with-enough-length-0123456789"
T = TypeVar("T")


class NatsServer:
    """A nats-server with JetStream on a free port and its own store; stops and starts again."""

    def __init__(self, store: Path) -> None:
        self.store = store
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                nats_server_binary(),
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-sd",
                str(self.store),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.02)
        raise RuntimeError("nats-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


def postgres_available() -> bool:
    async def probe() -> bool:
        try:
            connection = await asyncpg.connect(PG_DSN, timeout=3)
        except (OSError, asyncpg.PostgresError):
            return False
        await connection.close()
        return True

    return asyncio.run(probe())


_POSTGRES: list[bool] = []

# Parametrise a fixture with these and pass `request.param` through `database_kind`.
DATABASE_KINDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def cases(table: dict[str, Any]) -> list[Any]:
    """Parameters for `pytest.mark.parametrize`: each value of `table`, its key the id."""
    return [pytest.param(value, id=key) for key, value in table.items()]


def database_kind(kind: str) -> str:
    """`kind`, or a skip when PostgreSQL is unreachable here; under CI a failure, since CI must
    run the PostgreSQL tests."""
    if kind == "postgres":
        if not _POSTGRES:
            # The probe runs its own event loop, so keep it off any loop a fixture is running in.
            with ThreadPoolExecutor(1) as pool:
                _POSTGRES.append(pool.submit(postgres_available).result())
        if not _POSTGRES[0]:
            if os.environ.get("CI"):
                pytest.fail("PostgreSQL is not reachable, and CI must run the PostgreSQL tests")
            pytest.skip("PostgreSQL is not reachable")
    return kind


async def create_pg_database(name: str) -> str:
    connection = await asyncpg.connect(PG_DSN)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    base = PG_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


async def drop_pg_database(name: str) -> None:
    connection = await asyncpg.connect(PG_DSN)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def database_urls(kind: str, data_dir: Path, stack: AsyncExitStack) -> dict[str, str]:
    urls = {}
    for service in SERVICES:
        if kind == "sqlite":
            urls[service] = f"sqlite+aiosqlite:///{data_dir / service}.sqlite3"
        else:
            name = f"capitals_test_{uuid.uuid4().hex[:10]}_{service}"
            urls[service] = await create_pg_database(name)
            stack.push_async_callback(drop_pg_database, name)
    return urls


def settings_for(data_dir: Path, nats_url: str, urls: dict[str, str], **extra: str) -> Settings:
    env = {
        "CAPITALS_DATA_DIR": str(data_dir),
        "NATS_URL": nats_url,
        "CAPITALS_SECRET": SECRET,
        "CAPITALS_RATE_LIMIT": "0",
        **{f"{service.upper()}_DATABASE_URL": url for service, url in urls.items()},
        **extra,
    }
    return load_settings(env)


@asynccontextmanager
async def infrastructure_db(
    tmp_path: Path, kind: str = "sqlite", metadata: MetaData = infrastructure
) -> AsyncIterator[Database]:
    """A database holding only `metadata`'s tables (by default the shared outbox, inbox, leases
    and mail queue), no service's."""
    name = f"capitals_test_{uuid.uuid4().hex[:10]}_infrastructure"
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / name}.sqlite3"
    else:
        url = await create_pg_database(name)
    # Created through a plain engine: `Database` opens SQLite transactions IMMEDIATE.
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    await engine.dispose()
    db = Database(url)
    try:
        yield db
    finally:
        await db.dispose()
        if kind == "postgres":
            await drop_pg_database(name)


def staff_headers(
    role: str = "secretariat", countries: list[str] | None = None, *, secret: str = SECRET
) -> dict[str, str]:
    """The Authorization header of a staff member with this role and these countries."""
    return {"Authorization": f"Bearer {issue_token(secret, role=role, countries=countries)}"}


async def publish(
    nats_url: str, *payloads: Payload, correlation_id: str | None = None
) -> list[str]:
    """Put events on the broker as their producers would (an envelope, Nats-Msg-Id set to its
    id); return their event ids."""
    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream(timeout=5)
        await ensure_streams(js, None)
        ids = []
        for payload in payloads:
            envelope = envelope_for(payload, correlation_id or str(uuid.uuid4()))
            await js.publish(
                envelope.subject, encode(envelope), headers={"Nats-Msg-Id": envelope.event_id}
            )
            ids.append(envelope.event_id)
        return ids
    finally:
        await connection.close()


INVITATION_LINK = re.compile(r"/evaluations/([A-Za-z0-9_-]{20,})")


class SmtpSink:
    """A real SMTP server (aiosmtpd) on a free port that keeps every message it accepts; use it
    as a context manager."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[Any] = []
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._controller.stop()

    def to(self, address: str) -> list[tuple[str, str]]:
        """(subject, plain text) of every message to `address`, in arrival order."""
        return [
            (str(m["Subject"]).strip(), plain_text(m))
            for m in list(self.messages)
            if str(m["To"]).strip() == address
        ]

    async def link(self, address: str, subject_start: str) -> str:
        """The invitation token in the first mail to `address` whose subject starts so."""

        async def arrived() -> str:
            for subject, text in self.to(address):
                if subject.startswith(subject_start):
                    (token,) = {m.group(1) for m in INVITATION_LINK.finditer(text)}
                    return token
            raise AssertionError(f"no {subject_start!r} mail to {address} yet")

        return await eventually(arrived, timeout=15)


def plain_text(message: Any) -> str:
    """The plain-text body of a message parsed with the default email policy."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


@dataclass
class System:
    """The three services in this process, over a real broker and real databases."""

    settings: Settings
    # A NatsServer, or whatever broker the test gave (a tests.servers.NatsCluster).
    nats: Any
    clients: dict[str, AsyncTestClient[Any]]
    apps: dict[str, Any] = field(default_factory=dict)

    @property
    def scheduling(self) -> AsyncTestClient[Any]:
        return self.clients["scheduling"]

    @property
    def registration(self) -> AsyncTestClient[Any]:
        return self.clients["registration"]

    @property
    def evaluation(self) -> AsyncTestClient[Any]:
        return self.clients["evaluation"]

    def token(
        self, role: str = "secretariat", countries: list[str] | None = None
    ) -> dict[str, str]:
        return staff_headers(role, countries, secret=self.settings.secret)

    def runtime(self, service: str) -> Any:
        return self.apps[service].state.runtime

    async def on_service_loop(
        self, service: str, work: Callable[..., Awaitable[T]], *args: Any
    ) -> T:
        """Run `work` on the event loop that serves `service` (the test client's portal):
        the service's database write lock and connections belong to that loop."""
        portal = self.clients[service].blocking_portal
        return await asyncio.to_thread(portal.call, work, *args)


@asynccontextmanager
async def running_system(
    tmp_path: Path,
    kind: str = "sqlite",
    services: tuple[str, ...] = SERVICES,
    broker: Any = None,
    **extra: str,
) -> AsyncIterator[System]:
    """The services over a nats-server of their own, or over `broker` (a running server or
    cluster with a `url`, such as tests.servers.NatsCluster); `extra` are settings."""
    async with AsyncExitStack() as stack:
        nats = broker
        if nats is None:
            nats = NatsServer(tmp_path / "nats")
            nats.start()
            stack.callback(nats.stop)
        urls = await database_urls(kind, tmp_path, stack)
        settings = settings_for(tmp_path, nats.url, urls, **extra)
        for service in services:
            await asyncio.to_thread(upgrade, service, urls[service])
        clients: dict[str, AsyncTestClient[Any]] = {}
        apps: dict[str, Any] = {}
        for service in services:
            module = __import__(f"services.{service}.app", fromlist=["app"])
            app = module.app(settings)
            apps[service] = app
            base = settings.public_url(service)
            clients[service] = await stack.enter_async_context(
                AsyncTestClient(app=app, base_url=base, timeout=30)
            )
        for client in clients.values():
            # Start-up returns before the broker is reached (a service serves while it is
            # away); a test starts from a system that is ready.
            await eventually(lambda client=client: _ready(client), timeout=30)
        yield System(settings=settings, nats=nats, clients=clients, apps=apps)


async def _ready(client: AsyncTestClient[Any]) -> bool:
    return bool((await client.get("/ready")).status_code == 200)


async def eventually(
    check: Callable[[], Awaitable[T]], *, timeout: float = 10.0, interval: float = 0.05
) -> T:
    """Retry `check` until it returns something truthy, or fail with its last error."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            result = await check()
            if result:
                return result
        except AssertionError as exc:
            last = exc
        await asyncio.sleep(interval)
    if last is not None:
        raise last
    raise AssertionError("condition not met in time")


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
