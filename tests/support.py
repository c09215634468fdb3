"""What the tests share: a real nats-server, real databases, and the three services running."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from litestar.testing import AsyncTestClient

from capitals.embedded import free_port, nats_server_binary
from shared.auth import issue_token
from shared.migrations import upgrade
from shared.settings import SERVICES, Settings, load_settings

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


@dataclass
class System:
    """The three services in this process, over a real broker and real databases."""

    settings: Settings
    nats: NatsServer
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
        minted = issue_token(self.settings.secret, role=role, countries=countries)
        return {"Authorization": f"Bearer {minted}"}

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
    tmp_path: Path, kind: str = "sqlite", services: tuple[str, ...] = SERVICES, **extra: str
) -> AsyncIterator[System]:
    async with AsyncExitStack() as stack:
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
        yield System(settings=settings, nats=nats, clients=clients, apps=apps)


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
