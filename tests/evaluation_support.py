"""What the evaluation tests share: events onto the broker, invitation links, database reads."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

from sqlalchemy import inspect, select, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from shared.clock import clock
from shared.db import Database
from shared.events import Payload
from shared.events import contracts as ev
from shared.tables import inbox
from tests.support import System, eventually, plain_text, publish

TRAINING_DAY = date(2031, 5, 12)
LINK = re.compile(r"/evaluations/([A-Za-z0-9_-]{20,})")
# A question of its own a training adds to the bank's.
MATERIALS_QUESTION = {
    "id": "materials",
    "kind": "single",
    "text": "Were the printed materials useful?",
    "level": 1,
    "options": [{"id": "yes", "text": "Yes"}, {"id": "no", "text": "No"}],
}


class Training:
    """A training as scheduling would publish it, with revisions that rise like scheduling's."""

    def __init__(
        self,
        *,
        country: str = "EE",
        city: str = "Tallinn",
        series: str = "cbss-thb",
        day: date = TRAINING_DAY,
        title: str | None = None,
    ) -> None:
        self.id = str(uuid.uuid4())
        self.country, self.city, self.series, self.day = country, city, series, day
        self.title = title or f"Trafficking in human beings: consular training in {city}"
        self.revision = 0
        self.sessions: list[ev.SessionData] = []

    def session(
        self, title: str, kind: str = "lecture", hour: int = 9, status: str = "scheduled"
    ) -> ev.SessionData:
        start = datetime(self.day.year, self.day.month, self.day.day, hour, tzinfo=UTC)
        data = ev.SessionData(
            id=str(uuid.uuid4()),
            revision=1,
            training_id=self.id,
            title=title,
            kind=kind,
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            status=status,
        )
        self.sessions.append(data)
        return data

    def published(self) -> ev.TrainingPublished:
        self.revision += 1
        return ev.TrainingPublished(
            id=self.id,
            revision=self.revision,
            series=self.series,
            series_title="CBSS trainings on trafficking in human beings",
            title=self.title,
            host_country=self.country,
            city=self.city,
            venue="Ministry of Foreign Affairs",
            timezone="Europe/Tallinn",
            starts_on=self.day,
            ends_on=self.day,
            capacity=40,
            sessions=list(self.sessions),
        )

    def completed(self) -> ev.TrainingCompleted:
        self.revision += 1
        return ev.TrainingCompleted(id=self.id, revision=self.revision)


def attendee(training: Training, name: str, revision: int = 3) -> ev.RegistrationCheckedIn:
    email = name.lower().replace(" ", ".") + "@mfa.example"
    return ev.RegistrationCheckedIn(
        id=str(uuid.uuid4()),
        revision=revision,
        training_id=training.id,
        participant_id=str(uuid.uuid4()),
        status="confirmed",
        name=name,
        email=email,
    )


async def deliver(system: System, *payloads: Payload) -> None:
    """Publish events and wait until evaluation has handled every one (its inbox has them)."""
    ids = set(await publish(system.nats.url, *payloads))

    async def handled() -> bool:
        rows = await query(system, select(inbox.c.event_id).where(inbox.c.event_id.in_(ids)))
        found = {row[0] for row in rows}
        assert found == ids, f"evaluation handled {len(found)} of {len(ids)} events"
        return True

    await eventually(handled, timeout=15)


async def query(system: System, statement: Any) -> list[Any]:
    """Read the evaluation database directly, as a DBA would.

    On an engine of the test's own: the services' engines belong to the event
    loop the test client runs them in.
    """
    engine = create_async_engine(system.settings.database_url("evaluation"), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return list(await connection.execute(statement))
    finally:
        await engine.dispose()


async def columns(system: System, table: str) -> set[str]:
    engine = create_async_engine(system.settings.database_url("evaluation"), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            found = await connection.run_sync(lambda c: inspect(c).get_columns(table))
        return {column["name"] for column in found}
    finally:
        await engine.dispose()


async def sql(system: System, statement: str, **params: Any) -> list[Any]:
    return await query(system, text(statement).bindparams(**params))


def mails(system: System) -> list[Any]:
    folder = system.settings.mail_dir
    found = []
    for path in sorted(folder.glob("*.eml")) if folder.exists() else []:
        found.append(message_from_bytes(path.read_bytes(), policy=policy.default))
    return found


def tokens_in(bodies: Sequence[str]) -> list[str]:
    return [m.group(1) for text_ in bodies for m in LINK.finditer(text_)]


async def links_for(system: System, address: str, count: int = 1) -> list[str]:
    """The invitation tokens mailed to `address` (as .eml files), once `count` have arrived."""

    async def arrived() -> list[str]:
        found = tokens_in([plain_text(m) for m in mails(system) if m["To"] == address])
        assert len(found) >= count, f"{len(found)} links to {address} so far"
        return found

    return await eventually(arrived, timeout=15)


async def published_with_a_lecture(system: System, title: str) -> Training:
    """A training published with one session: the lecture `title` at 09:00."""
    training = Training()
    training.session(title, "lecture", 9)
    await deliver(system, training.published())
    return training


async def completed_training(
    system: System, names: Sequence[str], training: Training | None = None
) -> tuple[Training, dict[str, str]]:
    """A published, completed training with these attendees invited; name -> token."""
    training = training or Training()
    # The evening of the training day: the campaign opens then, and its periods run from it.
    clock.set(datetime(training.day.year, training.day.month, training.day.day, 18, tzinfo=UTC))
    if not training.sessions:
        training.session("Identifying victims at the consulate", "lecture", 9)
        training.session("Coffee", "break", 10)
        training.session("Referral in practice", "workshop", 11)
    people = [attendee(training, name) for name in names]
    await deliver(system, training.published())
    await deliver(system, *people)
    await deliver(system, training.completed())
    tokens = {}
    for person in people:
        (token,) = await links_for(system, person.email)
        tokens[person.name] = token
    return training, tokens


def overall_answers(overall: int, recommend: int, **more: Any) -> dict[str, Any]:
    return {"answers": {"overall": overall, "recommend": recommend, **more}}


async def apply(system: System, rule: Any) -> int:
    """Run one time-based rule now, as the schedule would, in a unit of work of the test's own."""
    db = Database(system.settings.database_url("evaluation"))
    try:
        async with db.unit() as uow:
            done: int = await rule(uow, system.settings, clock.now())
        return done
    finally:
        await db.dispose()


def subjects_to(system: System, address: str) -> list[str]:
    return sorted(str(m["Subject"]) for m in mails(system) if m["To"] == address)
