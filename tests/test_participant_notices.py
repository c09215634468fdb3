"""What confirmed participants hear about their training: one summary per burst of programme
changes after a quiet period, and one reminder a few days before; at most once per person,
whichever instance runs the job, on SQLite and PostgreSQL; mails through real SMTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from services.registration import notices
from services.registration.domain import first_day_begins
from services.registration.tables import ProgrammeChangeRow
from shared.clock import clock
from shared.db import Database
from shared.events import contracts as ev
from tests.registration_support import in_catalogue, person, publish, register, training_event
from tests.support import SmtpSink, System, eventually, running_system

TALLINN = ZoneInfo("Europe/Tallinn")
DAY = date(2031, 9, 2)


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


@pytest.fixture
async def system(tmp_path: Path, sink: SmtpSink, db_kind: str) -> AsyncIterator[System]:
    async with running_system(
        tmp_path,
        db_kind,
        services=("registration",),
        SMTP_URL=sink.url,
        REGISTRATION_CHANGE_QUIET_PERIOD="PT10M",
    ) as running:
        yield running


def _session(training_id: str, number: int, hour: int, **changes: object) -> ev.SessionData:
    starts = datetime(DAY.year, DAY.month, DAY.day, hour, tzinfo=TALLINN)
    values: dict[str, object] = {
        "id": f"session-{number}",
        "revision": 1,
        "training_id": training_id,
        "title": f"Session {number}",
        "kind": "lecture",
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=1),
        "room": "Hall A",
        **changes,
    }
    return ev.SessionData(**values)  # type: ignore[arg-type]


async def _pending_changes(system: System) -> list[ProgrammeChangeRow]:
    engine = create_async_engine(system.settings.database_url("registration"), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return list(await connection.execute(select(ProgrammeChangeRow.__table__)))  # type: ignore[attr-defined]
    finally:
        await engine.dispose()


async def _training_with_people(system: System) -> tuple[ev.TrainingData, list[str]]:
    """A published training with two sessions, two confirmed participants and one waiting."""
    training_id = "c0ffee00-0000-4000-8000-000000000001"
    sessions = [_session(training_id, 1, 9), _session(training_id, 2, 11)]
    clock.set(datetime(2031, 8, 1, 10, tzinfo=UTC))
    training = training_event(training_id=training_id, starts_on=DAY, capacity=2, sessions=sessions)
    await publish(system.nats.url, training)
    await in_catalogue(system.registration, training.id)
    emails = []
    for number in (1, 2, 3):
        created = await register(system.registration, training.id, person(number))
        emails.append(created["email"])
    return training, emails


def _subjects(sink: SmtpSink, address: str, start: str) -> list[str]:
    """The texts of the mails to `address` whose subject starts so."""
    return [text for subject, text in sink.to(address) if subject.startswith(start)]


async def _the_mails(sink: SmtpSink, addresses: tuple[str, ...], start: str) -> list[str]:
    """The texts of the one mail to each address whose subject starts so, once come."""
    return [await _the_mail(sink, address, start) for address in addresses]


async def _the_mail(sink: SmtpSink, address: str, start: str) -> str:
    """The text of the one mail to `address` whose subject starts so, once it has come."""

    async def mailed() -> list[str]:
        found = _subjects(sink, address, start)
        assert found, f"no {start!r} mail to {address} yet"
        return found

    (text,) = await eventually(mailed, timeout=15)
    return text


async def test_a_burst_of_programme_changes_is_mailed_once_after_the_quiet_period(
    system: System, sink: SmtpSink
) -> None:
    training, (first, second, waiting) = await _training_with_people(system)
    moved = _session(training.id, 1, 9, revision=2)
    moved = _session(
        training.id, 1, 14, revision=2, ends_at=moved.starts_at.replace(hour=15, minute=30)
    )
    await publish(
        system.nats.url,
        ev.SessionUpdated(**{**_as_dict(moved)}),
        ev.SessionCancelled(
            **{**_as_dict(_session(training.id, 2, 11, revision=2)), "status": "cancelled"}
        ),
    )
    await eventually(lambda: _has_pending(system, 2))
    clock.advance(timedelta(minutes=6))
    moved_venue = training_event(
        training_id=training.id,
        revision=2,
        starts_on=DAY,
        capacity=2,
        venue="House of the Blackheads, Pikk 26",
        sessions=[moved],
        subject=ev.TrainingUpdated,
    )
    await publish(system.nats.url, moved_venue)
    await eventually(lambda: _has_pending(system, 3))

    # Six minutes after the last change: still quiet time, nothing sent.
    clock.advance(timedelta(minutes=6))
    await asyncio.sleep(1.5)
    assert _subjects(sink, first, "Changes to") == []

    clock.advance(timedelta(minutes=5))
    for text in await _the_mails(sink, (first, second), "Changes to"):
        assert "Session 1 moved from 2 September 2031, 09:00 to 2 September 2031, 14:00" in text
        assert "Session 2 (2 September 2031, 11:00) is cancelled" in text
        assert "House of the Blackheads, Pikk 26" in text
        assert f"/trainings/{training.id}/page" in text and "/manage/" in text
    # Nothing more later; the waiting participant holds no seat and hears nothing.
    clock.advance(timedelta(hours=1))
    await asyncio.sleep(1.5)
    assert len(_subjects(sink, first, "Changes to")) == 1
    assert _subjects(sink, waiting, "Changes to") == []
    assert await _pending_changes(system) == []


def _as_dict(session: ev.SessionData) -> dict[str, object]:
    return {name: getattr(session, name) for name in session.__struct_fields__}


async def _has_pending(system: System, count: int) -> bool:
    rows = await _pending_changes(system)
    assert rows and len(rows[0].changes) >= count, rows
    return True


async def test_the_reminder_goes_once_to_each_confirmed_participant_whichever_instance_runs(
    system: System, sink: SmtpSink
) -> None:
    training, (first, second, waiting) = await _training_with_people(system)
    begins = first_day_begins(DAY, "Europe/Tallinn")

    # Two instances' passes at once, a little before and then within the three days.
    databases = [Database(system.settings.database_url("registration")) for _ in range(2)]
    try:
        clock.set(begins - timedelta(days=3, minutes=1))
        early = await asyncio.gather(
            *(notices.run_due_work(db, system.settings) for db in databases)
        )
        assert all(done["reminders"] == 0 for done in early)
        clock.set(begins - timedelta(days=2, hours=23))
        passes = await asyncio.gather(
            *(notices.run_due_work(db, system.settings) for db in databases)
        )
        # The service's own job may take some of them: together never more than one each.
        assert sum(done["reminders"] for done in passes) <= 2, passes
        clock.advance(timedelta(days=1))
        again = await asyncio.gather(
            *(notices.run_due_work(db, system.settings) for db in databases)
        )
        assert all(done["reminders"] == 0 for done in again)
    finally:
        for db in databases:
            await db.dispose()

    for text in await _the_mails(sink, (first, second), "Soon:"):
        assert "Ministry of Foreign Affairs, Islandi väljak 1" in text
        assert "09:00\u201310:00  Session 1 (Hall A)" in text
        assert "Europe/Tallinn (EEST, UTC+03:00)" in text
        assert f"/trainings/{training.id}/page" in text and "/calendars/" in text
    await asyncio.sleep(1.0)
    assert len(_subjects(sink, first, "Soon:")) == 1
    assert _subjects(sink, waiting, "Soon:") == []
