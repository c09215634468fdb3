"""What the scheduling tests share: bodies, feed parsing, a tap on the SCHEDULING stream."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import msgspec
import nats
import pytest
from ical.calendar import Calendar as StrictCalendar
from ical.calendar_stream import IcsCalendarStream
from nats.js.api import DeliverPolicy

from capitals.embedded import free_port
from shared.events import REGISTRY, Envelope, Payload, decode_envelope
from tests.support import SECRET, System, running_system

ROOT = Path(__file__).resolve().parents[1]
_days = itertools.count()


def fresh_day() -> date:
    """A future day no other test in this process uses, so trainings never clash by accident."""
    return date(2031, 1, 5) + timedelta(days=3 * next(_days))


def training_body(starts_on: date | str | None = None, **changes: Any) -> dict[str, Any]:
    day = date.fromisoformat(starts_on) if isinstance(starts_on, str) else starts_on
    day = day or fresh_day()
    body: dict[str, Any] = {
        "series": "cbss-thb",
        "title": "Trafficking in human beings: a training for consular staff",
        "host_country": "EE",
        "venue": "Ministry of Foreign Affairs, Islandi väljak 1",
        "starts_on": day.isoformat(),
        "ends_on": day.isoformat(),
        "capacity": 30,
        "description": "For diplomatic and consular staff of CBSS states.",
    }
    body.update(changes)
    return body


def session_body(day: date | str, start: str = "10:00", end: str = "11:30", **changes: Any) -> dict:
    body: dict[str, Any] = {
        "title": "Identifying victims at the consulate",
        "kind": "lecture",
        "starts_at": f"{day}T{start}:00",
        "ends_at": f"{day}T{end}:00",
        "room": "Hall A",
        "speakers": [{"name": "Kristiina Kangaspunta", "organisation": "UNODC"}],
    }
    body.update(changes)
    return body


async def create_training(
    system: System, headers: dict[str, str], **changes: Any
) -> dict[str, Any]:
    response = await system.scheduling.post(
        "/trainings", json=training_body(**changes), headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def add_session(
    system: System, headers: dict[str, str], training: dict[str, Any], **changes: Any
) -> dict[str, Any]:
    body = session_body(training["starts_on"], **changes)
    response = await system.scheduling.post(
        f"/trainings/{training['id']}/sessions", json=body, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def across_the_autumn_change(
    system: System, headers: dict[str, str], **changes: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A training in Stockholm over the night summer time ends (03:00 on 26 October 2031),
    and its session from 01:30 CEST to 03:30 CET."""
    training = await create_training(
        system, headers, host_country="SE", starts_on="2031-10-25", ends_on="2031-10-26", **changes
    )
    night = await add_session(
        system,
        headers,
        training,
        starts_at="2031-10-26T01:30:00",
        ends_at="2031-10-26T03:30:00",
        title="Night watch",
        speakers=[],
    )
    return training, night


async def published_training(
    system: System, headers: dict[str, str], sessions: int = 1, **changes: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A published training with `sessions` back-to-back sessions from 09:00 in different rooms."""
    training = await create_training(system, headers, **changes)
    made = []
    for n in range(sessions):
        made.append(
            await add_session(
                system,
                headers,
                training,
                title=f"Session {n + 1}",
                start=f"{9 + n:02d}:00",
                end=f"{9 + n:02d}:45",
                room=f"Room {n + 1}",
                speakers=[{"name": f"Speaker {training['id'][:8]} {n}"}],
            )
        )
    response = await system.scheduling.post(f"/trainings/{training['id']}/publish", headers=headers)
    assert response.status_code == 200, response.text
    return response.json(), made


@asynccontextmanager
async def scheduling_system(
    tmp_path: Path, kind: str = "sqlite", **extra: str
) -> AsyncIterator[System]:
    """The scheduling service alone, over a real broker and database."""
    # Broker.close() closes the connection rather than draining it, so a cancelled pull
    # fetch no longer holds the shutdown for drain_timeout.
    async with running_system(tmp_path, kind, services=("scheduling",), **extra) as system:
        yield system


def one_scheduling_system_per_module(name: str) -> Any:
    """A module-scoped `system` fixture: one scheduling service (in a folder called `name`)
    for all the tests of the module that assigns it, each test on days of its own."""

    @pytest.fixture(scope="module")
    async def system(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[System]:
        async with scheduling_system(tmp_path_factory.mktemp(name)) as running:
            yield running

    return system


# --- calendar feeds -------------------------------------------------------------


def strict(body: bytes) -> StrictCalendar:
    """Parse with the independent strict parser (allenporter/ical), which raises on bad input."""
    return IcsCalendarStream.calendar_from_ics(body.decode("utf-8"))


def vevents(body: bytes) -> dict[str, icalendar.Event]:
    """The feed's events by UID, after checking the body parses strictly and round-trips."""
    strict(body)
    parsed = icalendar.Calendar.from_ical(body)
    assert icalendar.Calendar.from_ical(parsed.to_ical()).to_ical() == parsed.to_ical()
    found: dict[str, icalendar.Event] = {}
    for event in parsed.walk("VEVENT"):
        # The strict parser does not insist on these; a calendar app does.
        for name in ("UID", "DTSTAMP", "DTSTART", "SEQUENCE"):
            assert name in event, f"{name} missing"
        found[str(event["UID"])] = event
    return found


def event_lines(body: bytes, uid: str) -> list[str]:
    """The unfolded content lines of the event with this UID."""
    text = body.decode("utf-8").replace("\r\n ", "")
    for block in text.split("BEGIN:VEVENT\r\n")[1:]:
        lines = block.split("\r\n")
        if f"UID:{uid}" in lines:
            return lines[: lines.index("END:VEVENT")]
    raise AssertionError(f"no event {uid}")


def uid_of(session_id: str) -> str:
    from shared.calendar import session_uid

    return session_uid(session_id)


def wall(at: str, zone: str) -> datetime:
    """An API time ('2031-01-05T10:00:00+02:00') as wall-clock time in `zone`."""
    return datetime.fromisoformat(at).astimezone(ZoneInfo(zone))


# --- events on the bus ------------------------------------------------------------


class EventTap:
    """Every event on the SCHEDULING stream, read by an ordered (ephemeral) consumer."""

    def __init__(self) -> None:
        self.received: list[tuple[Envelope, Any]] = []
        self._nc: Any = None

    async def start(self, url: str) -> None:
        self._nc = await nats.connect(url)
        js = self._nc.jetstream()

        async def receive(message: Any) -> None:
            envelope = decode_envelope(message.data)
            payload = msgspec.json.decode(
                envelope.data, type=REGISTRY.get(envelope.subject, Payload)
            )
            self.received.append((envelope, payload))

        async def subscribe() -> None:
            await js.subscribe(
                "scheduling.>",
                cb=receive,
                ordered_consumer=True,
                deliver_policy=DeliverPolicy.ALL,
            )

        # The service creates the stream as it connects; wait for it.
        for _ in range(100):
            try:
                await subscribe()
                return
            except Exception:
                await asyncio.sleep(0.05)
        await subscribe()

    def of(self, subject: str, aggregate_id: str | None = None) -> list[Any]:
        return [
            payload
            for envelope, payload in self.received
            if envelope.subject == subject and (aggregate_id is None or payload.id == aggregate_id)
        ]

    async def close(self) -> None:
        if self._nc is not None:
            await self._nc.close()


@asynccontextmanager
async def event_tap(system: System) -> AsyncIterator[EventTap]:
    tap = EventTap()
    await tap.start(system.nats.url)
    try:
        yield tap
    finally:
        await tap.close()


# --- the service over real HTTP -----------------------------------------------------


def service_env(system: System) -> dict[str, str]:
    settings = system.settings
    return {
        "CAPITALS_DATA_DIR": str(settings.data_dir),
        "NATS_URL": str(settings.nats_url),
        "CAPITALS_SECRET": SECRET,
        "CAPITALS_RATE_LIMIT": "0",
        "SCHEDULING_DATABASE_URL": settings.database_url("scheduling"),
        "SCHEDULING_PUBLIC_URL": settings.public_url("scheduling"),
        "REGISTRATION_PUBLIC_URL": settings.public_url("registration"),
    }


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


__all__ = ["free_port"]
