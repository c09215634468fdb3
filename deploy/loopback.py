"""The production topology on loopback, without Docker: a three-node NATS cluster with
JetStream, one PostgreSQL database per service, and several `capitals serve` instances of each
service (two of registration and scheduling, one of evaluation), as compose.yaml runs them.

Run: .venv/bin/python deploy/loopback.py [--dir DIR] [--keep-databases]
Needs PostgreSQL at 127.0.0.1:5432 (user postgres, trust; CAPITALS_LOOPBACK_POSTGRES names
another server's maintenance database). Prints each instance's URL and stops everything on
Ctrl-C. The fault test (tests/test_fault_cluster.py) and bench/convergence.py import
`Loopback` and `NatsCluster` from here: one node or one instance can be killed, paused and
started again on the same port and store.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import ExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import nats

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: the project's packages beside this folder
    sys.path.insert(0, str(ROOT))

from capitals.embedded import nats_server_binary  # noqa: E402
from shared.migrations import upgrade  # noqa: E402
from shared.settings import SERVICES  # noqa: E402

POSTGRES = os.environ.get(
    "CAPITALS_LOOPBACK_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# Instances of each service, as compose.yaml would scale them.
INSTANCES: Mapping[str, int] = {"registration": 2, "scheduling": 2, "evaluation": 1}


class NatsCluster:
    """Three nats-servers with JetStream routed into one cluster on loopback, each with its
    own store; a node can be killed (SIGKILL), paused (SIGSTOP) and started again on the same
    ports and store."""

    def __init__(self, root: Path, size: int = 3) -> None:
        self.root = root
        self.names = [f"node-{n}" for n in range(size)]
        ports = free_ports(2 * size)
        self.ports, self.routes = ports[:size], ports[size:]
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
                    "capitals-loopback",
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

    def pause(self, node: int) -> None:
        """SIGSTOP: the node holds its connections but answers nothing."""
        process = self.processes[node]
        if process is not None:
            process.send_signal(signal.SIGSTOP)

    def resume(self, node: int) -> None:
        process = self.processes[node]
        if process is not None:
            process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        for node in range(len(self.names)):
            process = self.processes[node]
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGCONT)  # a paused node cannot stop
                terminate(process)
            self.processes[node] = None


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports: all held open at once, so none is handed out twice."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


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


def terminate(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """SIGTERM, and SIGKILL what does not stop within `timeout` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Instance:
    """One `capitals serve SERVICE` process on its own port and data directory."""

    service: str
    number: int
    port: int
    data_dir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return f"{self.service}-{self.number}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.data_dir / "serve.log"


@dataclass
class Loopback:
    """The whole topology in `root`: start() it, kill and restart parts, stop() it."""

    root: Path
    instances: Mapping[str, int] = field(default_factory=lambda: dict(INSTANCES))
    replicas: int = 3
    # Extra settings for every instance (CAPITALS_RATE_LIMIT, SMTP_URL, …).
    extra_env: Mapping[str, str] = field(default_factory=dict)
    keep_databases: bool = False

    def __post_init__(self) -> None:
        self.cluster = NatsCluster(self.root / "nats")
        self.secret = secrets.token_urlsafe(32)
        self.run_id = uuid.uuid4().hex[:10]
        self.database_names = {s: f"capitals_loopback_{self.run_id}_{s}" for s in SERVICES}
        ports = iter(free_ports(sum(self.instances.values())))
        self.by_service: dict[str, list[Instance]] = {
            service: [
                Instance(service, n, next(ports), self.root / f"{service}-{n}")
                for n in range(count)
            ]
            for service, count in self.instances.items()
        }

    def all(self) -> list[Instance]:
        return [instance for group in self.by_service.values() for instance in group]

    def database_url(self, service: str) -> str:
        base = POSTGRES.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        return f"{base}/{self.database_names[service]}"

    def env(self, instance: Instance) -> dict[str, str]:
        """Every instance's settings: the cluster's seeds, replicas, its service's database;
        public URLs point at the first instance of each service (a proxy would be there)."""
        return {
            "NATS_URL": self.cluster.url,
            "NATS_REPLICAS": str(self.replicas),
            "CAPITALS_SECRET": self.secret,
            "CAPITALS_DATA_DIR": str(instance.data_dir),
            **{f"{s.upper()}_DATABASE_URL": self.database_url(s) for s in SERVICES},
            **{
                f"{s.upper()}_PUBLIC_URL": group[0].url
                for s, group in self.by_service.items()
                if group
            },
            **self.extra_env,
        }

    async def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        await self.cluster.start()
        await self.create_databases()
        for service in SERVICES:  # one at a time: Alembic's environments share module state
            await asyncio.to_thread(upgrade, service, self.database_url(service))
        for instance in self.all():
            self.start_instance(instance)
        await asyncio.gather(*(self.wait_ready(instance) for instance in self.all()))

    async def create_databases(self) -> None:
        await self._on_each_database('CREATE DATABASE "{}"')

    async def drop_databases(self) -> None:
        await self._on_each_database('DROP DATABASE IF EXISTS "{}" WITH (FORCE)')

    async def _on_each_database(self, statement: str) -> None:
        """`statement` once for each service's database, its name in the braces."""
        connection = await asyncpg.connect(POSTGRES)
        try:
            for name in self.database_names.values():
                await connection.execute(statement.format(name))
        finally:
            await connection.close()

    def start_instance(self, instance: Instance) -> None:
        instance.data_dir.mkdir(parents=True, exist_ok=True)
        with instance.log.open("ab") as log:
            instance.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "capitals.cli",
                    "serve",
                    instance.service,
                    "--port",
                    str(instance.port),
                ],
                env={**os.environ, **self.env(instance)},
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def wait_ready(self, instance: Instance, timeout: float = 60) -> None:
        """Until the instance's /ready answers 200; fail with its output if it stops first."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < deadline:
                process = instance.process
                if process is None or process.poll() is not None:
                    raise RuntimeError(f"{instance.name} stopped:\n{self._tail(instance)}")
                with suppress(httpx.TransportError):
                    if (await client.get(f"{instance.url}/ready")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{instance.name} did not become ready:\n{self._tail(instance)}")

    def _tail(self, instance: Instance) -> str:
        return instance.log.read_text(errors="replace")[-4000:] if instance.log.exists() else ""

    def kill(self, instance: Instance) -> None:
        """SIGKILL one instance, as a crash would end it."""
        if instance.process is not None:
            instance.process.kill()
            instance.process.wait(timeout=10)
        instance.process = None

    async def stop(self) -> None:
        for instance in self.all():
            if instance.process is not None:
                instance.process.terminate()
        for instance in self.all():
            if instance.process is not None:
                await asyncio.to_thread(terminate, instance.process)
                instance.process = None
        self.cluster.stop()
        if not self.keep_databases:
            await self.drop_databases()


@asynccontextmanager
async def loopback(root: Path, **options: object) -> AsyncIterator[Loopback]:
    """A running topology for the block, stopped (and its databases dropped) after it."""
    topology = Loopback(root, **options)  # type: ignore[arg-type]
    try:
        await topology.start()
        yield topology
    finally:
        await topology.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=None, help="stores and logs (default: temp)")
    parser.add_argument("--keep-databases", action="store_true", help="do not drop them at exit")
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="capitals-loopback-"))
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    print(f"starting in {root} …", flush=True)
    async with loopback(root.absolute(), keep_databases=args.keep_databases) as topology:
        print(f"NATS_URL={topology.cluster.url}")
        print(f"CAPITALS_SECRET={topology.secret}")
        for service in SERVICES:
            print(f"{service.upper()}_DATABASE_URL={topology.database_url(service)}")
        for instance in topology.all():
            print(f"{instance.name:16} {instance.url}  (log {instance.log})")
        print("Ctrl-C stops everything.", flush=True)
        await stopping.wait()
        print("stopping …", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
