"""Registrations per second and p99 latency beside two bare endpoints on the same server.

One server process (uvicorn, as `capitals serve registration` runs it) serves the
registration service plus two bare Litestar endpoints: `POST /bench/echo` answers the
same body, `POST /bench/insert` stores it as one row in its own transaction (the naive
write path). A load generator in this process keeps N connections busy (HTTP/1.1
keep-alive, one request in flight per connection) against each endpoint in turn, first on
SQLite, then on PostgreSQL.

Run with `.venv/bin/python bench/registration.py [--seconds 5] [--connections 64]
[--databases sqlite,postgres] [--profile]`. `--profile` runs the server under cProfile
during the registration phase and prints where its time goes. PostgreSQL is reached at
CAPITALS_BENCH_POSTGRES (default postgresql://postgres@127.0.0.1:5432/postgres); a scratch
database is created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import dataclasses
import io
import itertools
import json
import os
import pstats
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvicorn
from litestar import Router, post
from litestar.params import JSONBody
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from capitals.embedded import free_port, nats_server_binary
from services.registration.app import spec
from services.registration.schemas import RegistrationIn
from shared.clock import clock
from shared.db import Database, UTCDateTime
from shared.events import contracts as ev
from shared.migrations import upgrade
from shared.params import DB
from shared.service import create_app
from shared.settings import load_settings
from shared.tables import mail_queue, outbox

# The tests' server and broker helpers serve here too; they live beside bench/, not in a package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from deploy.loopback import terminate
from tests.servers import wait_ready
from tests.support import publish

PG_DSN = os.environ.get("CAPITALS_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET = "bench-secret-with-enough-length-0123456789"
CAPITALS_SERVE = [sys.executable, "-m", "capitals.cli", "serve", "registration"]
# What the bare single-row insert stores of a registration, and each field's length.
STORED = {"name": 200, "email": 320, "organisation": 200, "country": 2}


# --- the server --------------------------------------------------------------------


def serve(port: int, profile_to: str | None) -> None:
    """The registration service with the two bare endpoints, under uvicorn."""

    settings = load_settings()
    bench = MetaData()
    single = Table(
        "bench_single_insert",
        bench,
        Column("id", Integer, primary_key=True, autoincrement=True),
        *(Column(field, String(length), nullable=False) for field, length in STORED.items()),
        Column("created_at", UTCDateTime, nullable=False),
    )

    async def create_table() -> None:
        engine = create_async_engine(settings.database_url("registration"))
        async with engine.begin() as connection:
            await connection.run_sync(bench.create_all)
        await engine.dispose()

    asyncio.run(create_table())

    @post("/bench/echo", operation_id="benchEcho", status_code=200, sync_to_thread=False)
    def echo(data: JSONBody[RegistrationIn]) -> RegistrationIn:
        return data

    @post("/bench/insert", operation_id="benchInsert", status_code=201)
    async def insert_one(data: JSONBody[RegistrationIn], db: DB) -> dict[str, int]:
        async with db.unit() as uow:
            result = await uow.execute(
                insert(single).values(
                    {field: getattr(data, field) for field in STORED} | {"created_at": clock.now()}
                )
            )
        return {"id": int(result.inserted_primary_key[0])}

    service = spec()
    service = dataclasses.replace(
        service,
        route_handlers=[
            *service.route_handlers,
            Router(path="/", route_handlers=[echo, insert_one], opt={"exclude_from_csrf": True}),
        ],
    )
    app = create_app(service, settings)
    profiler = cProfile.Profile()

    def start_profile(*_: Any) -> None:
        profiler.enable()

    def stop_profile(*_: Any) -> None:
        profiler.disable()
        if profile_to:
            profiler.dump_stats(profile_to)

    signal.signal(signal.SIGUSR1, start_profile)
    signal.signal(signal.SIGUSR2, stop_profile)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )


# --- the load ------------------------------------------------------------------------


@dataclasses.dataclass
class Load:
    seconds: float
    connections: int
    latencies: list[float] = dataclasses.field(default_factory=list)
    statuses: dict[int, int] = dataclasses.field(default_factory=dict)
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000


async def _connection(
    port: int, path: str, body: Callable[[], bytes], load: Load, warm_until: float, stop: float
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    try:
        while (began := time.monotonic()) < stop:
            payload = body()
            writer.write(f"{head}Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
            header = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in header.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            if began >= warm_until:
                load.latencies.append(time.monotonic() - began)
                status = int(header[9:12])
                load.statuses[status] = load.statuses.get(status, 0) + 1
    finally:
        writer.close()


async def run_load(
    port: int, path: str, body: Callable[[], bytes], seconds: float, connections: int
) -> Load:
    load = Load(seconds, connections)
    warm_until = time.monotonic() + 1.0
    stop = warm_until + seconds
    await asyncio.gather(
        *(_connection(port, path, body, load, warm_until, stop) for _ in range(connections))
    )
    load.elapsed = seconds
    return load


def bodies() -> Callable[[], bytes]:
    numbers = itertools.count()
    run = uuid.uuid4().hex[:8]

    def body() -> bytes:
        number = next(numbers)
        return json.dumps(
            {
                "name": f"Participant {number}",
                "email": f"p{number}.{run}@mfa.example.org",
                "organisation": "Ministry of Foreign Affairs",
                "position": "Consul",
                "country": ("EE", "LV", "LT", "FI", "SE", "DE", "PL", "UA")[number % 8],
                "consent": True,
            }
        ).encode()

    return body


# --- one database ------------------------------------------------------------------


async def _create_pg() -> tuple[str, Callable[[], Any]]:
    name = f"capitals_bench_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(PG_DSN)
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()

    async def drop() -> None:
        connection = await asyncpg.connect(PG_DSN)
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()

    base = PG_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}", drop


async def _backlog(database_url: str) -> tuple[int, int]:
    """Unpublished events and unsent mails."""
    db = Database(database_url)
    try:
        async with db.session() as session:
            events = await session.exec(  # type: ignore[call-overload]
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
            mails = await session.exec(  # type: ignore[call-overload]
                select(func.count())
                .select_from(mail_queue)
                .where(mail_queue.c.sent_at.is_(None))
                .where(mail_queue.c.dead_at.is_(None))
            )
            return int(events.one()[0]), int(mails.one()[0])
    finally:
        await db.dispose()


def _start(
    command: list[str], env: dict[str, str] | None = None, quiet: bool = False
) -> subprocess.Popen[bytes]:
    output = subprocess.DEVNULL if quiet else None
    return subprocess.Popen(command, env=env, stdout=output, stderr=output)


@contextlib.asynccontextmanager
async def _scratch(
    kind: str, args: argparse.Namespace
) -> AsyncIterator[tuple[dict[str, str], str]]:
    """A broker and an empty, migrated database of `kind`; the server's environment and the
    database URL. Everything is removed afterwards."""
    work = Path(tempfile.mkdtemp(prefix=f"capitals-bench-{kind}-"))
    cleanups: list[Callable[[], Any]] = []
    nats_port = free_port()
    broker = _start(
        [nats_server_binary(), "-js", "-a", "127.0.0.1", "-p", str(nats_port), "-sd", str(work)],
        quiet=True,
    )
    try:
        if kind == "sqlite":
            database_url = f"sqlite+aiosqlite:///{work / 'registration.sqlite3'}"
        else:
            database_url, drop = await _create_pg()
            cleanups.append(drop)
        await asyncio.to_thread(upgrade, "registration", database_url)
        env = {
            **os.environ,
            "CAPITALS_DATA_DIR": str(work / "data"),
            "NATS_URL": f"nats://127.0.0.1:{nats_port}",
            "CAPITALS_SECRET": SECRET,
            "REGISTRATION_DATABASE_URL": database_url,
            # Off unless asked: with it on, every public write also counts in the database.
            "CAPITALS_RATE_LIMIT": str(args.rate_limit),
            "CAPITALS_LOG_LEVEL": "WARNING",
        }
        yield env, database_url
    finally:
        broker.terminate()
        broker.wait(timeout=10)
        for cleanup in cleanups:
            await cleanup()
        shutil.rmtree(work, ignore_errors=True)


async def _open_training(port: int, nats_url: str) -> str:
    """A training of 20 seats, published as scheduling would, once registration lists it."""
    training_id = str(uuid.uuid4())
    first_day = date.today() + timedelta(days=60)
    await publish(
        nats_url,
        ev.TrainingPublished(
            id=training_id,
            revision=1,
            series="cbss-thb",
            title="Trafficking in human beings: a training for consular staff",
            host_country="EE",
            city="Tallinn",
            venue="Ministry of Foreign Affairs",
            timezone="Europe/Tallinn",
            starts_on=first_day,
            ends_on=first_day,
            capacity=20,
        ),
        correlation_id="bench",
    )
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        for _ in range(200):
            listed = (await client.get("/trainings")).json()["items"]
            if any(item["id"] == training_id for item in listed):
                break
            await asyncio.sleep(0.05)
    return training_id


async def _drained(load: Load, database_url: str) -> None:
    """Wait until every event is relayed and every mail sent; note how long it took."""
    drained = time.monotonic()
    while (left := await _backlog(database_url)) != (0, 0):
        print(f"waiting for {left[0]} events and {left[1]} mails", file=sys.stderr)
        await asyncio.sleep(1)
    load.drain = time.monotonic() - drained  # type: ignore[attr-defined]


async def bench_database(kind: str, args: argparse.Namespace) -> list[tuple[str, Load]]:
    """The bare endpoints and the registration route on one server process."""
    async with _scratch(kind, args) as (env, database_url):
        port = free_port()
        # Beside the data directory, removed with it.
        profile_to = str(Path(env["CAPITALS_DATA_DIR"]).parent / "registration.prof")
        server = _start(
            [
                sys.executable,
                __file__,
                "serve",
                "--port",
                str(port),
                "--profile-to",
                profile_to if args.profile else "",
            ],
            env=env,
        )
        try:
            await asyncio.to_thread(wait_ready, f"http://127.0.0.1:{port}", server)
            training_id = await _open_training(port, env["NATS_URL"])
            results = []
            for label, path in (
                ("bare echo", "/bench/echo"),
                ("bare single-row insert", "/bench/insert"),
                ("registration", f"/trainings/{training_id}/registrations"),
            ):
                if label == "registration" and args.profile:
                    server.send_signal(signal.SIGUSR1)
                print(f"{kind}: {label}", file=sys.stderr, flush=True)
                load = await run_load(port, path, bodies(), args.seconds, args.connections)
                if label == "registration":
                    if args.profile:
                        server.send_signal(signal.SIGUSR2)
                    await _drained(load, database_url)
                results.append((label, load))
            if args.profile:
                await asyncio.sleep(1)
                _print_profile(profile_to)
            return results
        finally:
            terminate(server, timeout=40)


async def bench_workers(
    kind: str, counts: list[int], args: argparse.Namespace
) -> list[tuple[str, Load]]:
    """The registration route under `capitals serve registration --workers N`, for each N,
    each on a fresh broker and database."""
    results = []
    for workers in counts:
        async with _scratch(kind, args) as (env, database_url):
            port = free_port()
            server = _start(
                [*CAPITALS_SERVE, "--port", str(port), "--workers", str(workers)], env=env
            )
            try:
                await asyncio.to_thread(wait_ready, f"http://127.0.0.1:{port}", server)
                # /ready answers once one worker is up; the others start alongside it.
                await asyncio.sleep(2.0 * (workers - 1))
                training_id = await _open_training(port, env["NATS_URL"])
                label = f"{workers} worker" + ("s" if workers > 1 else "")
                print(f"{kind}: registration, {label}", file=sys.stderr, flush=True)
                path = f"/trainings/{training_id}/registrations"
                load = await run_load(port, path, bodies(), args.seconds, args.connections)
                await _drained(load, database_url)
                results.append((label, load))
            finally:
                terminate(server, timeout=40)
    return results


AREAS = (
    ("idle (waiting for the network or the database thread)", ("select.epoll", "selectors.py")),
    ("HTTP server (uvicorn, h11)", ("uvicorn/", "h11/", "httptools")),
    ("web framework (litestar, anyio, msgspec)", ("litestar/", "anyio/", "sniffio/", "msgspec")),
    ("asyncio event loop and tasks", ("asyncio/", "_contextvars", "_asyncio.Future")),
    ("socket reads and writes (HTTP, database, broker)", ("_socket.socket",)),
    ("hand-offs to threads (SQLite driver, mail files)", ("threading.py", "thread.py", "_queue")),
    ("random ids (uuid4, message ids)", ("uuid.py", "posix.urandom")),
    (
        "database layer (sqlalchemy, drivers, greenlet)",
        ("sqlalchemy/", "sqlmodel/", "aiosqlite/", "asyncpg/", "greenlet"),
    ),
    (
        "outbox relay and broker client (nats)",
        ("nats/", "shared/bus.py", "shared/broker.py", "shared/leases.py"),
    ),
    ("mail sender (email, files, SMTP)", ("email/", "aiosmtplib/", "shared/mail.py")),
    ("registration write path", ("services/registration/",)),
    ("shared (events, tokens, unit of work)", ("shared/",)),
)


def _area(filename: str, function: str) -> str:
    where = f"{filename}:{function}"
    for area, needles in AREAS:
        if any(needle in where for needle in needles):
            return area
    return "other (stdlib, builtins)"


def _print_profile(path: str) -> None:
    """Where the server's main thread spent the registration phase, by area and function."""
    stats = pstats.Stats(path)
    areas: dict[str, float] = {}
    for (filename, _line, function), (_cc, _nc, own, _cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        area = _area(filename, function)
        areas[area] = areas.get(area, 0.0) + own
    total = sum(areas.values()) or 1.0
    print("server main thread during the registration phase (cProfile, own time by area):")
    for area, seconds in sorted(areas.items(), key=lambda item: -item[1]):
        print(f"  {seconds / total:6.1%}  {area}")
    stream = io.StringIO()
    pstats.Stats(path, stream=stream).sort_stats("tottime").print_stats(15)
    print(stream.getvalue())


def _table(
    kind: str, results: list[tuple[str, Load]], connections: int, first: str = "endpoint"
) -> str:
    lines = [
        f"{kind}, {connections} connections",
        f"| {first:<24} | {'requests/s':>10} | {'p50 ms':>7} | {'p99 ms':>7} | statuses |",
        f"|{'-' * 26}|{'-' * 12}|{'-' * 9}|{'-' * 9}|----------|",
    ]
    for label, load in results:
        statuses = ", ".join(f"{code}x{count}" for code, count in sorted(load.statuses.items()))
        lines.append(
            f"| {label:<24} | {load.rate:>10.0f} | {load.percentile(0.5):>7.1f} | "
            f"{load.percentile(0.99):>7.1f} | {statuses} |"
        )
    for label, load in results:
        drain = getattr(load, "drain", None)
        if drain is not None:
            lines.append(
                f"after the {label} phase: events relayed and mails sent within {drain:.1f} s"
            )
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> None:
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, {sys.version.split()[0]}"
    )
    for kind in args.databases.split(","):
        if args.workers:
            counts = [int(n) for n in args.workers.split(",")]
            results = await bench_workers(kind, counts, args)
            print(_table(kind, results, args.connections, first="registration with"))
        else:
            results = await bench_database(kind, args)
            print(_table(kind, results, args.connections))
        print()


def _stop_on_sigterm() -> None:
    """Let `finally` blocks stop the broker and the server when the bench is terminated."""

    def stop(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("mode", nargs="?", default="bench", choices=("bench", "serve"))
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--workers",
        default="",
        help="e.g. 1,2: the registration route under `capitals serve --workers N` for each N",
    )
    parser.add_argument(
        "--rate-limit", type=int, default=0, help="CAPITALS_RATE_LIMIT (0: off; use a large one)"
    )
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--profile-to", default="")
    arguments = parser.parse_args()
    if arguments.mode == "serve":
        serve(arguments.port, arguments.profile_to or None)
    else:
        _stop_on_sigterm()
        asyncio.run(main(arguments))
