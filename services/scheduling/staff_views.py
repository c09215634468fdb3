"""What the organisers' pages show: their trainings with tallies, and a timetable to edit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.scheduling import queries
from services.scheduling.conflicts import BLOCKING, Conflict
from services.scheduling.pages import KIND_LABELS, STATUS_LABELS, dates_label, day_label
from services.scheduling.tables import SessionRow, TrainingRow
from shared.settings import Settings
from shared.staff import Staff

STATES = ("draft", "published", "completed", "cancelled")


@dataclass
class TrainingLine:
    """One training on the staff home."""

    training: TrainingRow
    dates: str
    taken: int
    left: int
    waitlisted: int
    pending: int
    conflicts: int
    registrations_url: str
    report_url: str


@dataclass
class Group:
    state: str
    label: str
    lines: list[TrainingLine] = field(default_factory=list)


async def managed_trainings(reading: AsyncSession, who: Staff) -> list[TrainingRow]:
    """Every training of the caller's host countries (the secretariat: all), by date."""
    query = select(TrainingRow).order_by(col(TrainingRow.starts_on), col(TrainingRow.id))
    if not who.is_secretariat:
        query = query.where(col(TrainingRow.host_country).in_(who.countries))
    return list(await reading.exec(query))


async def home(reading: AsyncSession, settings: Settings, who: Staff) -> list[Group]:
    trainings = await managed_trainings(reading, who)
    counts = await queries.tallies(reading, [t.id for t in trainings])
    changing = [t for t in trainings if t.status in ("draft", "published")]
    found = await queries.conflicts_of_each(reading, changing, who)
    groups = {state: Group(state, STATUS_LABELS[state]) for state in STATES}
    registration = settings.public_url("registration")
    evaluation = settings.public_url("evaluation")
    for training in trainings:
        tally = counts[training.id]
        unresolved = len([c for c in found.get(training.id, []) if c.kind in BLOCKING])
        taken = tally.get("confirmed", 0)
        groups[training.status].lines.append(
            TrainingLine(
                training=training,
                dates=dates_label(training.starts_on, training.ends_on),
                taken=taken,
                left=max(0, training.capacity - taken),
                waitlisted=tally.get("waitlisted", 0),
                pending=tally.get("pending", 0),
                conflicts=unresolved,
                registrations_url=f"{registration}/staff/trainings/{training.id}",
                report_url=f"{evaluation}/reports/{training.id}",
            )
        )
    return list(groups.values())


@dataclass(frozen=True)
class Clash:
    """A conflict as shown beside one session: what it is, and where the other sessions are."""

    message: str
    # (label, address) of each other session in it: on this page, the other training's
    # staff page when the caller manages it, else its public page.
    others: list[tuple[str, str]]


def clash_beside(conflict: Conflict, session_id: str, training_id: str, who: Staff) -> Clash:
    others = []
    for slot in conflict.sessions:
        if slot.id == session_id:
            continue
        zone = ZoneInfo(slot.timezone)
        label = f"{slot.title}, {day_label(slot.starts_at.astimezone(zone).date())} "
        label += f"{slot.starts_at.astimezone(zone):%H:%M}"
        if slot.training_id == training_id:
            address = f"#session-{slot.id}"
        elif who.is_secretariat or slot.host_country in who.countries:
            address = f"/staff/trainings/{slot.training_id}#session-{slot.id}"
            label += f" ({slot.training_title})"
        else:
            address = f"/trainings/{slot.training_id}/page"
            label += f" ({slot.training_title})"
        others.append((label, address))
    return Clash(conflict.message, others)


@dataclass
class EditedSession:
    row: SessionRow
    kind: str
    day: str
    start: str
    end: str
    speakers: list[dict[str, Any]]
    conflicts: list[Clash]
    cancelled: bool
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class EditedDay:
    iso: str
    label: str
    sessions: list[EditedSession] = field(default_factory=list)


def training_days(training: TrainingRow) -> list[date]:
    count = (training.ends_on - training.starts_on).days + 1
    return [training.starts_on + timedelta(days=n) for n in range(count)]


async def timetable(
    reading: AsyncSession, training: TrainingRow, who: Staff
) -> tuple[list[EditedDay], list[str], list[str], int]:
    """The days with their sessions and each one's conflicts, the rooms and speakers in use
    (this training's and the caller's other trainings'), and the number of blocking clashes."""
    zone = ZoneInfo(training.timezone)
    sessions = await queries.sessions_of(reading, training.id)
    found = await queries.conflicts_of(reading, training, who)
    days = {d: EditedDay(d.isoformat(), day_label(d)) for d in training_days(training)}
    for row in sessions:
        starts: datetime = row.starts_at.astimezone(zone)
        ends: datetime = row.ends_at.astimezone(zone)
        day = days.setdefault(
            starts.date(), EditedDay(starts.date().isoformat(), day_label(starts.date()))
        )
        day.sessions.append(
            EditedSession(
                row=row,
                kind=KIND_LABELS.get(row.kind, row.kind),
                day=starts.date().isoformat(),
                start=f"{starts:%H:%M}",
                end=f"{ends:%H:%M}",
                speakers=row.speakers,
                conflicts=[
                    clash_beside(c, row.id, training.id, who)
                    for c in queries.involving(found, row.id)
                ],
                cancelled=row.status == "cancelled",
                values=session_values(row, starts, ends),
            )
        )
    rooms, speakers = await known_rooms_and_speakers(reading, who)
    blocking = len([c for c in found if c.kind in BLOCKING])
    return [days[d] for d in sorted(days)], rooms, speakers, blocking


async def known_rooms_and_speakers(
    reading: AsyncSession, who: Staff
) -> tuple[list[str], list[str]]:
    ids = [t.id for t in await managed_trainings(reading, who)]
    if not ids:
        return [], []
    rows = list(await reading.exec(select(SessionRow).where(col(SessionRow.training_id).in_(ids))))
    rooms = sorted({r.room for r in rows if r.room})
    speakers = sorted({s["name"] for r in rows for s in r.speakers if s.get("name")})
    return rooms, speakers


def session_values(row: SessionRow, starts: datetime, ends: datetime) -> dict[str, Any]:
    """A session as its edit form shows it, in the training's wall-clock time."""
    values: dict[str, Any] = {
        "title": row.title,
        "kind": row.kind,
        "day": starts.date().isoformat(),
        "start": f"{starts:%H:%M}",
        "end": f"{ends:%H:%M}",
        "room": row.room or "",
        "description": row.description or "",
    }
    for n, speaker in enumerate(row.speakers, start=1):
        values[f"speaker_{n}"] = speaker.get("name", "")
        values[f"organisation_{n}"] = speaker.get("organisation") or ""
    return values


def details(training: TrainingRow) -> dict[str, Any]:
    """A training as its edit form shows it; the registration window in its zone."""
    zone = ZoneInfo(training.timezone)
    values: dict[str, Any] = {
        name: getattr(training, name)
        for name in (
            "title",
            "venue",
            "city",
            "timezone",
            "capacity",
            "language",
            "moderated",
            "by_nomination",
        )
    }
    values["description"] = training.description or ""
    values["starts_on"] = training.starts_on.isoformat()
    values["ends_on"] = training.ends_on.isoformat()
    for name in ("registration_opens_at", "registration_closes_at", "nominations_close_at"):
        moment = getattr(training, name)
        values[name] = "" if moment is None else f"{moment.astimezone(zone):%Y-%m-%dT%H:%M}"
    return values
