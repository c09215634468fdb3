"""What the registration tests share: scheduling's events built by hand, the registration
stream read back, the service alone per module or as `capitals serve` runs it, and its
form filled in a browser."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec
import pytest

from capitals.embedded import free_port
from shared.events import contracts as ev
from shared.migrations import upgrade
from tests.browser import csrf_of
from tests.bus_support import stored_messages
from tests.servers import Command
from tests.support import (
    DATABASE_KINDS,
    SECRET,
    NatsServer,
    System,
    create_pg_database,
    database_kind,
    drop_pg_database,
    eventually,
    publish,
    running_system,
)

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


# The training a test gets unless it says otherwise, as scheduling would publish it.
DEFAULT_TRAINING = {
    "series": "cbss-thb",
    "title": "Trafficking in human beings: consular staff",
    "host_country": "EE",
    "city": "Tallinn",
    "venue": "Ministry of Foreign Affairs, Islandi väljak 1",
    "timezone": "Europe/Tallinn",
    "capacity": 20,
    "moderated": False,
}


def training_event(
    *,
    training_id: str | None = None,
    revision: int = 1,
    starts_on: date | None = None,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    subject: type[ev.TrainingData] = ev.TrainingPublished,
    **changes: Any,
) -> ev.TrainingData:
    """DEFAULT_TRAINING as `subject`, one day long, 30 days ahead unless `starts_on`; `changes`
    to any of the event's fields."""
    first_day = starts_on or date.today() + timedelta(days=30)
    fields = DEFAULT_TRAINING | {
        "id": training_id or str(uuid.uuid4()),
        "revision": revision,
        "starts_on": first_day,
        "ends_on": first_day,
        "registration_opens_at": opens_at,
        "registration_closes_at": closes_at,
    }
    return subject(**(fields | changes))


@dataclass(frozen=True)
class Event:
    subject: str
    data: dict[str, Any]


async def registration_events(nats_url: str) -> list[Event]:
    """Every event on the REGISTRATION stream, in stream order."""
    return [
        Event(message.subject or "", msgspec.json.decode(message.data or b"")["data"])
        for message in await stored_messages(nats_url, "REGISTRATION")
    ]


async def events_about(nats_url: str, registration_ids: set[str]) -> list[Event]:
    return [e for e in await registration_events(nats_url) if e.data["id"] in registration_ids]


@dataclass
class Served:
    """The registration service as `capitals serve` runs it, with its broker."""

    url: str
    nats_url: str
    database_url: str
    process: subprocess.Popen[bytes]
    log: Path
    # What the process was started with: a second instance on the same database and broker.
    env: dict[str, str]


async def _pg_url(name: str, stack: AsyncExitStack) -> str:
    url = await create_pg_database(name)
    stack.push_async_callback(drop_pg_database, name)
    return url


@asynccontextmanager
async def served_registration(
    tmp_path: Path, kind: str = "sqlite", workers: int = 1, **extra: str
) -> AsyncIterator[Served]:
    """`capitals serve registration [--workers N]` in its own process on a free port."""
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
        process = stack.enter_context(
            Command("registration", port, env, log, ["--workers", str(workers)]).served()
        )
        yield Served(
            url=f"http://127.0.0.1:{port}",
            nats_url=broker.url,
            database_url=database_url,
            process=process,
            log=log,
            env=env,
        )


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


async def completed(nats_url: str, client: Any, training_id: str) -> None:
    """Scheduling completes the training (its revision 2); wait until the catalogue says so."""
    await publish(nats_url, ev.TrainingCompleted(id=training_id, revision=2))
    await in_catalogue(client, training_id, status="completed")


def one_registration_system_per_module(name: str) -> Any:
    """A module-scoped `system` fixture, once per database kind: registration alone (in a
    folder called `name`), fed with scheduling's events by the tests, each test opening
    trainings of its own."""

    @pytest.fixture(scope="module", params=DATABASE_KINDS)
    async def system(
        request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
    ) -> AsyncIterator[System]:
        kind = database_kind(request.param)
        path = tmp_path_factory.mktemp(f"{name}-{kind}")
        async with running_system(path, kind, services=("registration",)) as running:
            yield running

    return system


async def offered(served: Served, **changes: Any) -> ev.TrainingData:
    """`open_training` on a served registration service."""
    async with httpx.AsyncClient(base_url=served.url) as client:
        return await open_training(served.nats_url, client, **changes)


async def fill_registration_form(
    tab: Any, labels: tuple[str, str, str, str], values: tuple[str, str, str, str]
) -> None:
    """In a browser tab on the registration form, type the name, e-mail address and
    organisation and pick the country; `labels` are those fields' labels in the page's
    language, `values` what goes in them, in that order."""
    *typed, country = labels
    for label, value in zip(typed, values, strict=False):
        await tab.get_by_label(label).fill(value)
    await tab.get_by_label(country).select_option(values[-1])


async def register(client: Any, training_id: str, body: dict[str, Any], **kwargs: Any) -> Any:
    """Register and insist on 201."""
    response = await client.post(f"/trainings/{training_id}/registrations", json=body, **kwargs)
    assert response.status_code == 201, response.text
    return response.json()


async def decide_on_page(
    client: Any, headers: dict[str, str], training_id: str, held: str, decision: str, message: str
) -> None:
    """An organiser approves or declines (`decision`) registration `held` from the
    training's staff page, with a message; insists on the redirect back."""
    page = await client.get(f"/staff/trainings/{training_id}", headers=headers)
    decided = await client.post(
        f"/staff/registrations/{held}/{decision}",
        data={"_csrf_token": csrf_of(page.text), "message": message},
        headers=headers,
        follow_redirects=False,
    )
    assert decided.status_code == 303, decided.text


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


async def two_day_training(nats_url: str, client: Any, **changes: Any) -> ev.TrainingData:
    """A training in Reykjavik on two days, a month from now, published and listed."""
    first = date.today() + timedelta(days=30)
    training = msgspec.structs.replace(
        training_event(
            host_country="IS",
            city="Reykjavik",
            timezone="Atlantic/Reykjavik",
            starts_on=first,
            **changes,
        ),
        ends_on=first + timedelta(days=1),
    )
    await publish(nats_url, training)
    await in_catalogue(client, training.id)
    return training
