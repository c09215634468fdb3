"""Erasure leaves no copy behind: not in any service's tables, WAL, broker store, mail or log."""

from __future__ import annotations

import logging
import secrets
import string
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, select, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from services.registration.privacy import erase_expired
from services.registration.settings import own
from shared.clock import clock
from shared.logs import JsonFormatter
from shared.tables import dead_letter, mail_queue, outbox
from tests.bus_support import stored_messages
from tests.scheduling_support import published_training
from tests.support import System, eventually, running_system

QUIET = ("nats", "aiosqlite", "asyncio")


def canary() -> str:
    """A random word no fixture, template or library contains."""
    return "qz" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(14))


@contextmanager
def captured_logs(path: Path) -> Iterator[None]:
    """What the services log during the test, into `path`."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(JsonFormatter("test"))
    root = logging.getLogger()
    # The levels the services run at (shared.logs.configure), with DEBUG for our own code.
    levels = {name: logging.getLogger(name).level for name in ("", *QUIET, "shared", "services")}
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ("shared", "services"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        handler.close()


def wal_files(folder: Path) -> list[Path]:
    return list(folder.glob("*.sqlite3-wal"))


def files_holding(folder: Path, *needles: str) -> list[str]:
    """Every file under `folder` whose bytes hold a needle, in any letter case."""
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            # Removed while we looked (a WAL emptied, a broker block compacted): it holds
            # nothing any more.
            continue
        lowered = data.lower()
        for needle in needles:
            if needle.encode() in data or needle.lower().encode() in lowered:
                found.append(f"{path.relative_to(folder)}: {needle}")
    return found


async def rows_holding(url: str, *needles: str) -> list[str]:
    """Every row of every table of a database whose text holds a needle."""
    engine = create_async_engine(url, poolclass=NullPool)
    found = []
    try:
        async with engine.connect() as connection:
            tables = MetaData()
            await connection.run_sync(lambda sync: tables.reflect(sync))
            for table in tables.sorted_tables:
                for row in await connection.execute(select(table)):
                    shown = repr(tuple(row)).lower()
                    found += [f"{table.name}: {n}" for n in needles if n.lower() in shown]
    finally:
        await engine.dispose()
    return found


async def read(system: System, service: str, statement: Any) -> list[Any]:
    engine = create_async_engine(system.settings.database_url(service), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return list(await connection.execute(statement))
    finally:
        await engine.dispose()


async def write(system: System, service: str, statement: Any) -> None:
    engine = create_async_engine(system.settings.database_url(service), poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.execute(statement)
    finally:
        await engine.dispose()


async def stream_bodies(system: System, stream: str) -> list[bytes]:
    """The bodies of every message the stream still holds."""
    return [message.data or b"" for message in await stored_messages(system.nats.url, stream)]


class Journey:
    """One person through the three services: registered, checked in, invited."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.name = f"{canary().capitalize()} {canary().capitalize()}"
        self.local = canary()
        self.email = f"{self.local}@example.org"
        self.starts = date.today() + timedelta(days=30)

    @property
    def needles(self) -> tuple[str, ...]:
        return (*self.name.split(), self.local)

    async def registered(self) -> dict[str, Any]:
        system = self.system
        organiser = system.token("organiser", ["EE"])
        published, _ = await published_training(
            system, organiser, starts_on=self.starts, capacity=5
        )
        self.training = published["id"]

        async def open_for_registration() -> bool:
            response = await system.registration.get("/trainings")
            return any(i["id"] == self.training for i in response.json()["items"])

        await eventually(open_for_registration, timeout=15)
        response = await system.registration.post(
            f"/trainings/{self.training}/registrations",
            json={
                "name": self.name,
                "email": self.email,
                "organisation": "Ministry of Foreign Affairs of Estonia",
                "country": "EE",
                "consent": True,
            },
        )
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "confirmed"
        registration: dict[str, Any] = response.json()
        return registration

    async def check_in(self, registration: dict[str, Any]) -> None:
        clock.set(datetime(self.starts.year, self.starts.month, self.starts.day, 8, tzinfo=UTC))
        organiser = self.system.token("organiser", ["EE"])
        checked = await self.system.registration.post(
            f"/registrations/{registration['id']}/check-in", headers=organiser
        )
        assert checked.status_code == 200, checked.text

    async def complete(self) -> None:
        organiser = self.system.token("organiser", ["EE"])
        completed = await self.system.scheduling.post(
            f"/trainings/{self.training}/complete", headers=organiser
        )
        assert completed.status_code == 200, completed.text

    async def invited(self) -> None:
        """Evaluation has mailed the invitation (an .eml file, as SMTP_URL is unset)."""

        async def mailed() -> bool:
            folder = self.system.settings.mail_dir
            files = list(folder.glob("*.eml")) if folder.exists() else []
            return any(
                self.email.encode() in path.read_bytes() and b"/evaluations/" in path.read_bytes()
                for path in files
            )

        await eventually(mailed, timeout=20)

    async def through_the_training(self) -> dict[str, Any]:
        """Registered, checked in, the training completed and the person invited to evaluate
        it; the consumers gave up on the check-in once. Returns the registration."""
        registration = await self.registered()
        await self.check_in(registration)
        await self.complete()
        await self.invited()
        await self.dead_letters_holding_the_person()
        return registration

    async def erase(self) -> dict[str, Any]:
        erased = await self.system.registration.post(
            "/privacy/erase", json={"email": self.email}, headers=self.system.token()
        )
        assert erased.status_code == 200, erased.text
        result: dict[str, Any] = erased.json()
        return result

    async def retention_passed(self, registration: dict[str, Any]) -> str:
        """The retention period runs out after the training; returns the participant's id."""
        system = self.system

        async def completed_here() -> list[Any]:
            return await read(
                system,
                "registration",
                text(
                    "SELECT r.participant_id FROM registration r JOIN training t"
                    " ON t.id = r.training_id WHERE r.id = :id AND t.completed_at IS NOT NULL"
                ).bindparams(id=registration["id"]),
            )

        participant_id: str = (await eventually(completed_here, timeout=15))[0][0]
        clock.advance(own(system.settings).retention + timedelta(days=1))
        runtime = system.runtime("registration")
        assert (
            await system.on_service_loop("registration", erase_expired, runtime.db, system.settings)
            == 1
        )
        return participant_id

    async def erased_everywhere(
        self, participant_id: str, *, invited: bool = True, timeout: float = 30
    ) -> None:
        """The person's events are gone from the stream and scheduling has forgotten them;
        where they were `invited`, evaluation has erased its invitations too."""
        system = self.system

        async def done() -> bool:
            left = await read(
                system, "registration", select(outbox.c.id).where(outbox.c.person.is_not(None))
            )
            assert not left, "the person's events are not yet deleted from the stream"
            forgotten = await read(
                system,
                "scheduling",
                text("SELECT 1 FROM erased_participant WHERE participant_id = :id").bindparams(
                    id=participant_id
                ),
            )
            assert forgotten, "scheduling has not handled the erasure yet"
            if invited:
                invitations = await read(
                    system, "evaluation", text("SELECT erased FROM invitation")
                )
                assert invitations and all(row[0] for row in invitations), "evaluation not done"
            return True

        await eventually(done, timeout=timeout)

    async def dead_letters_holding_the_person(self) -> None:
        """Consumers gave up on the person's check-in event once: its whole body is kept."""
        for body in await stream_bodies(self.system, "REGISTRATION"):
            if self.email.encode() in body:
                for service in ("scheduling", "evaluation"):
                    await write(
                        self.system,
                        service,
                        dead_letter.insert().values(
                            consumer=f"{service}-from-registration",
                            subject="registration.registration.checked_in",
                            event_id=None,
                            body=body,
                            error="RuntimeError('test')",
                            deliveries=5,
                            recorded_at=datetime.now(UTC),
                        ),
                    )
                return
        raise AssertionError("the check-in event is not in the stream")


@pytest.mark.parametrize("cause", ["request", "retention"])
async def test_erasure_leaves_no_trace_in_any_file_of_the_system(
    tmp_path: Path, cause: str
) -> None:
    log_file = tmp_path / "services.log"
    with captured_logs(log_file):
        async with running_system(tmp_path) as system:
            journey = Journey(system)
            registration = await journey.through_the_training()
            bodies = await stream_bodies(system, "REGISTRATION")
            assert any(journey.email.encode() in b for b in bodies)

            if cause == "request":
                # A week after sending, the queue rows are pruned; the .eml files are not.
                await write(system, "evaluation", mail_queue.delete())
                participant_id = (await journey.erase())["participant_id"]
            else:
                participant_id = await journey.retention_passed(registration)
            await journey.erased_everywhere(participant_id)

            remaining = await stream_bodies(system, "REGISTRATION")
            assert not [body for body in remaining if journey.local.encode() in body]
            # While running, the WAL files are there to be read too. Each erasing commit
            # asks for a truncating checkpoint, which runs in the background just after it.
            assert wal_files(tmp_path)

            async def no_file_holds_them() -> bool:
                found = files_holding(tmp_path, *journey.needles)
                assert found == [], found
                return True

            await eventually(no_file_holds_them, timeout=10)
    # Stopped: databases closed, the broker's store flushed.
    assert (tmp_path / "nats").is_dir() and log_file.stat().st_size > 0
    assert files_holding(tmp_path, *journey.needles) == []


async def test_erasure_while_the_broker_is_down_completes_when_it_returns(
    tmp_path: Path,
) -> None:
    """The check-in is still in the outbox when the person is erased: its personal data
    never reaches the stream, and the erasure finishes once the broker is back."""
    log_file = tmp_path / "services.log"
    with captured_logs(log_file):
        async with running_system(tmp_path) as system:
            journey = Journey(system)
            registration = await journey.registered()
            system.nats.stop()
            await journey.check_in(registration)
            erased = await journey.erase()
            system.nats.start()
            await journey.complete()
            await journey.erased_everywhere(erased["participant_id"], invited=False, timeout=40)
            assert files_holding(tmp_path, *journey.needles) == []
    assert files_holding(tmp_path, *journey.needles) == []


async def test_erasure_leaves_no_row_holding_the_person_on_either_database(
    tmp_path: Path, db_kind: str
) -> None:
    async with running_system(tmp_path, db_kind) as system:
        journey = Journey(system)
        await journey.through_the_training()
        erased = await journey.erase()
        await journey.erased_everywhere(erased["participant_id"])
        for service in ("registration", "scheduling", "evaluation"):
            url = system.settings.database_url(service)
            assert await rows_holding(url, *journey.needles) == [], service
        assert files_holding(system.settings.mail_dir, *journey.needles) == []
