"""Servers for tests: an app under uvicorn in this process, `capitals serve` as its own process,
and a three-node NATS cluster on loopback."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import nats
import uvicorn

from capitals.embedded import free_port, nats_server_binary

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


def start_command(
    service: str,
    port: int,
    env: Mapping[str, str],
    log: Path | None = None,
    options: Sequence[str] = (),
) -> subprocess.Popen[bytes]:
    """`capitals serve <service> [options]` on `port`, its output into `log` (or nowhere)."""
    output = log.open("wb") if log is not None else subprocess.DEVNULL
    try:
        return subprocess.Popen(
            [*SERVE, service, "--port", str(port), *options],
            env={**os.environ, **env},
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    finally:
        if log is not None:
            output.close()  # type: ignore[union-attr]


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


def stop(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """Terminate, and kill what does not stop within `timeout` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def serve_command(
    service: str,
    port: int,
    env: Mapping[str, str],
    log: Path | None = None,
    options: Sequence[str] = (),
) -> Iterator[subprocess.Popen[bytes]]:
    """`capitals serve <service> [options]` as its own process, ready when entered (one
    worker answering, under --workers), stopped on exit."""
    process = start_command(service, port, env, log, options)
    try:
        wait_ready(f"http://127.0.0.1:{port}", process, log)
        yield process
    finally:
        stop(process)


class NatsCluster:
    """Three nats-servers with JetStream routed into one cluster on loopback, each with its
    own store; a node can be killed (SIGKILL) and started again on the same ports and store."""

    def __init__(self, root: Path, size: int = 3) -> None:
        self.root = root
        self.names = [f"node-{n}" for n in range(size)]
        self.ports = [free_port() for _ in range(size)]
        self.routes = [free_port() for _ in range(size)]
        self.processes: list[subprocess.Popen[bytes] | None] = [None] * size

    @property
    def url(self) -> str:
        """NATS_URL for the whole cluster: every node as a seed."""
        return ",".join(self.node_url(n) for n in range(len(self.names)))

    def node_url(self, node: int) -> str:
        return f"nats://127.0.0.1:{self.ports[node]}"

    def start_node(self, node: int) -> None:
        store = self.root / self.names[node]
        store.mkdir(parents=True, exist_ok=True)
        routes = ",".join(f"nats://127.0.0.1:{port}" for port in self.routes)
        with (self.root / f"{self.names[node]}.log").open("ab") as log:
            self.processes[node] = subprocess.Popen(
                [
                    nats_server_binary(),
                    "-js",
                    "-a",
                    "127.0.0.1",
                    "-p",
                    str(self.ports[node]),
                    "-sd",
                    str(store),
                    "-n",
                    self.names[node],
                    "--cluster_name",
                    "capitals-test",
                    "--cluster",
                    f"nats://127.0.0.1:{self.routes[node]}",
                    "--routes",
                    routes,
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    async def start(self) -> None:
        """Start every node and wait until JetStream answers with the cluster formed."""
        for node in range(len(self.names)):
            self.start_node(node)
        await self.wait_for_jetstream()

    async def wait_for_jetstream(self, timeout: float = 30) -> None:
        """Until every running node answers JetStream's account info (a meta leader exists)."""
        deadline = time.monotonic() + timeout
        for node, process in enumerate(self.processes):
            if process is None:
                continue
            while True:
                try:
                    connection = await nats.connect(
                        self.node_url(node),
                        allow_reconnect=False,
                        connect_timeout=1,
                        error_cb=_quiet,
                    )
                    try:
                        await connection.jetstream(timeout=1).account_info()
                        break
                    finally:
                        await connection.close()
                except Exception:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{self.names[node]} has no JetStream") from None
                    await asyncio.sleep(0.1)

    def kill(self, node: int) -> None:
        """SIGKILL one node, as a crash would end it."""
        process = self.processes[node]
        if process is not None:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        self.processes[node] = None

    def stop(self) -> None:
        for node in range(len(self.names)):
            process = self.processes[node]
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            self.processes[node] = None


async def _quiet(exc: Exception) -> None:
    """A node not listening yet is expected while the cluster starts."""


@asynccontextmanager
async def nats_cluster(root: Path) -> AsyncIterator[NatsCluster]:
    """A running three-node cluster for the block."""
    cluster = NatsCluster(root)
    try:
        await cluster.start()
        yield cluster
    finally:
        cluster.stop()
