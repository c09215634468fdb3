"""Servers for tests: an app under uvicorn in this process, `capitals serve` as its own process,
and a three-node NATS cluster on loopback (deploy/loopback.py's, which starts the whole
topology)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from capitals.embedded import free_port
from deploy.loopback import terminate
from shared.migrations import upgrade
from shared.settings import SERVICES, Settings
from tests.support import NatsServer, System, database_urls, running_system, settings_for

ROOT = Path(__file__).resolve().parents[1]
SERVE = [sys.executable, "-m", "capitals.cli", "serve"]


@asynccontextmanager
async def serve_app(app: Any, port: int, lifespan: str = "on") -> AsyncIterator[str]:
    """`app` under uvicorn as a task on this event loop, for a browser or any real client; its
    base URL. With `lifespan="off"` it shares the runtime an in-process test client started."""
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            lifespan=lifespan,
            log_config=None,
            log_level="warning",
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def served_alone(
    tmp_path: Path, service: str, **settings: str
) -> AsyncIterator[tuple[System, str]]:
    """`service` alone on SQLite, served on a free port that its public URL names, for a
    browser; the running system and that URL."""
    port = free_port()
    public = {f"{service.upper()}_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    async with (
        running_system(tmp_path, services=(service,), **public, **settings) as system,
        serve_app(system.apps[service], port, lifespan="off") as url,
    ):
        yield system, url


async def serve_all(
    stack: AsyncExitStack, tmp_path: Path, **extra: str
) -> tuple[Settings, dict[str, Any], dict[str, str]]:
    """The three services served for real on this loop, lifespans on (as a browser needs
    them), over a nats-server of their own and SQLite, each on a free port that its public
    URL names, until `stack` closes; their settings (`extra` among them), apps and URLs."""
    ports = {service: free_port() for service in SERVICES}
    urls = {service: f"http://127.0.0.1:{port}" for service, port in ports.items()}
    public = {f"{service.upper()}_PUBLIC_URL": url for service, url in urls.items()}
    nats = NatsServer(tmp_path / "nats")
    nats.start()
    stack.callback(nats.stop)
    databases = await database_urls("sqlite", tmp_path, stack)
    settings = settings_for(tmp_path, nats.url, databases, **extra, **public)
    apps = {}
    for service, port in ports.items():
        await asyncio.to_thread(upgrade, service, databases[service])
        module = __import__(f"services.{service}.app", fromlist=["app"])
        apps[service] = module.app(settings)
        await stack.enter_async_context(serve_app(apps[service], port))
    return settings, apps, urls


@dataclass(frozen=True)
class Command:
    """`capitals serve <service> [options]` on `port`, its output into `log` (or nowhere)."""

    service: str
    port: int
    env: Mapping[str, str]
    log: Path | None = None
    options: Sequence[str] = ()

    def start(self) -> subprocess.Popen[bytes]:
        """Start it as its own process, and do not wait for it."""
        output = self.log.open("wb") if self.log is not None else subprocess.DEVNULL
        try:
            return subprocess.Popen(
                [*SERVE, self.service, "--port", str(self.port), *self.options],
                env={**os.environ, **self.env},
                cwd=ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        finally:
            if self.log is not None:
                output.close()  # type: ignore[union-attr]

    @contextmanager
    def served(self) -> Iterator[subprocess.Popen[bytes]]:
        """Started, and ready when entered (one worker answering, under --workers); stopped
        on exit."""
        process = self.start()
        try:
            wait_ready(f"http://127.0.0.1:{self.port}", process, self.log)
            yield process
        finally:
            terminate(process)


def wait_ready(
    url: str, process: subprocess.Popen[bytes], log: Path | None = None, timeout: float = 30
) -> None:
    """Wait until `url`/ready answers 200; fail with the service's output if it stops first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} stopped{_output(log)}")
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{process.args} did not become ready{_output(log)}")


def _output(log: Path | None) -> str:
    return f":\n{log.read_text(errors='replace')}" if log is not None else ""
