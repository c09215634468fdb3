"""What the registration tests share: scheduling's events sent by hand, the registration
stream read back, an SMTP server that keeps what it receives, and the service served by
uvicorn in its own process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec
import nats
from aiosmtpd.controller import Controller

from capitals.embedded import free_port
from shared.auth import issue_token
from shared.bus import ensure_streams
from shared.events import Payload, encode, envelope_for
from shared.events import contracts as ev
from shared.migrations import upgrade
from tests.support import SECRET, NatsServer, create_pg_database, drop_pg_database, eventually

PERSON = {
    "name": "Mari Tamm",
    "email": "mari.tamm@mfa.ee",
    "organisation": "Ministry of Foreign Affairs of Estonia",
    "position": "Consul",
    "country": "EE",
    "consent": True,
}


def person(number: int, **changes: Any) -> dict[str, Any]:
    """A distinct participant: person(3) is participant3@example.org."""
    return {
        **PERSON,
        "name": f"Participant {number}",
        "email": f"participant{number}@example.org",
        **changes,
    }


def training_event(
    *,
    training_id: str | None = None,
    revision: int = 1,
    capacity: int = 20,
    host_country: str = "EE",
    starts_on: date | None = None,
    moderated: bool = False,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    subject: type[ev.TrainingData] = ev.TrainingPublished,
    **changes: Any,
) -> ev.TrainingData:
    first_day = starts_on or date.today() + timedelta(days=30)
    return subject(
        id=training_id or str(uuid.uuid4()),
        revision=revision,
        series="cbss-thb",
        title=changes.pop("title", "Trafficking in human beings: consular staff"),
        host_country=host_country,
        city=changes.pop("city", "Tallinn"),
        venue=changes.pop("venue", "Ministry of Foreign Affairs, Islandi väljak 1"),
        timezone=changes.pop("timezone", "Europe/Tallinn"),
        starts_on=first_day,
        ends_on=first_day,
        capacity=capacity,
        registration_opens_at=opens_at,
        registration_closes_at=closes_at,
        moderated=moderated,
        **changes,
    )


async def publish(nats_url: str, *payloads: Payload) -> None:
    """Send events onto the broker as their producer would."""
    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream(timeout=5)
        await ensure_streams(js)
        for payload in payloads:
            envelope = envelope_for(payload, str(uuid.uuid4()))
            await js.publish(
                envelope.type, encode(envelope), headers={"Nats-Msg-Id": envelope.event_id}
            )
    finally:
        await connection.close()


@dataclass(frozen=True)
class Event:
    subject: str
    data: dict[str, Any]


async def registration_events(nats_url: str) -> list[Event]:
    """Every event on the REGISTRATION stream, in stream order."""
    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream(timeout=5)
        info = await js.stream_info("REGISTRATION")
        events = []
        for sequence in range(info.state.first_seq, info.state.last_seq + 1):
            if info.state.messages == 0:
                break
            message = await js.get_msg("REGISTRATION", sequence)
            body = msgspec.json.decode(message.data or b"")
            events.append(Event(subject=message.subject or "", data=body["data"]))
        return events
    finally:
        await connection.close()


async def events_about(nats_url: str, registration_ids: set[str]) -> list[Event]:
    return [e for e in await registration_events(nats_url) if e.data["id"] in registration_ids]


@dataclass
class SmtpSink:
    """A real SMTP server (aiosmtpd) on a free port that keeps every message."""

    port: int = field(default_factory=free_port)
    messages: list[Message] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def to(self, address: str) -> list[tuple[str, str]]:
        """(subject, plain text) of every message to `address`, in arrival order."""
        found = []
        for message in list(self.messages):
            if message["To"] == address:
                body = message.get_payload(decode=True)
                if isinstance(body, bytes):
                    found.append((str(message["Subject"]), body.decode()))
        return found


@contextmanager
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


def staff(role: str = "secretariat", countries: list[str] | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(SECRET, role=role, countries=countries)}"}


@dataclass
class Served:
    """The registration service as `capitals serve` runs it, with its broker."""

    url: str
    nats_url: str
    database_url: str
    process: subprocess.Popen[bytes]
    log: Path


async def _pg_url(name: str, stack: AsyncExitStack) -> str:
    url = await create_pg_database(name)
    stack.push_async_callback(drop_pg_database, name)
    return url


@asynccontextmanager
async def served_registration(
    tmp_path: Path, kind: str = "sqlite", **extra: str
) -> AsyncIterator[Served]:
    """`capitals serve registration` in its own process on a free port (uvicorn)."""
    async with AsyncExitStack() as stack:
        broker = NatsServer(tmp_path / "nats")
        broker.start()
        stack.callback(broker.stop)
        if kind == "sqlite":
            database_url = f"sqlite+aiosqlite:///{tmp_path / 'registration.sqlite3'}"
        else:
            database_url = await _pg_url(f"capitals_reg_{uuid.uuid4().hex[:10]}", stack)
        await asyncio.to_thread(upgrade, "registration", database_url)
        port = free_port()
        env = {
            **os.environ,
            "CAPITALS_DATA_DIR": str(tmp_path / "data"),
            "NATS_URL": broker.url,
            "CAPITALS_SECRET": SECRET,
            "REGISTRATION_DATABASE_URL": database_url,
            "REGISTRATION_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "CAPITALS_RATE_LIMIT": "0",
            "CAPITALS_LOG_LEVEL": "WARNING",
            **extra,
        }
        log = tmp_path / "registration.log"
        process = _spawn(port, env, log)

        def stop() -> None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

        stack.callback(stop)
        url = f"http://127.0.0.1:{port}"
        await _wait_ready(url, process, log)
        yield Served(
            url=url, nats_url=broker.url, database_url=database_url, process=process, log=log
        )


def _spawn(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "capitals.cli", "serve", "registration", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def _output(log: Path) -> str:
    return log.read_text(errors="replace")


async def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient(base_url=url, timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"registration stopped:\n{_output(log)}")
            try:
                if (await client.get("/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"registration did not become ready:\n{_output(log)}")


async def in_catalogue(client: Any, training_id: str, **expected: Any) -> dict[str, Any]:
    """Wait until registration's catalogue shows the training (with `expected` values)."""

    async def shown() -> dict[str, Any]:
        response = await client.get(f"/trainings/{training_id}")
        assert response.status_code == 200, response.text
        entry: dict[str, Any] = response.json()
        for name, value in expected.items():
            assert entry[name] == value, (name, entry[name], value)
        return entry

    return await eventually(shown)


async def open_training(nats_url: str, client: Any, **changes: Any) -> ev.TrainingData:
    """Publish a training as scheduling would and wait until registration lists it."""
    training = training_event(**changes)
    await publish(nats_url, training)
    await in_catalogue(client, training.id)
    return training


async def register(client: Any, training_id: str, body: dict[str, Any], **kwargs: Any) -> Any:
    """Register and insist on 201."""
    response = await client.post(f"/trainings/{training_id}/registrations", json=body, **kwargs)
    assert response.status_code == 201, response.text
    return response.json()


async def post_json(
    base_url: str, path: str, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """POST on a connection of its own (Connection: close) and return (status, JSON body).

    For hundreds of requests at once: httpx's pool handles each new connection in
    time proportional to the connections it holds, which turns a 500-request rush into
    seconds of client work; a bare connection per request keeps the rush a rush.
    """
    address = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    payload = json.dumps(body).encode()
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {address.netloc}",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    writer.write("\r\n".join(lines).encode() + b"\r\n\r\n" + payload)
    try:
        answer = await reader.read()
    finally:
        writer.close()
    head, _, content = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(content) if content else None
