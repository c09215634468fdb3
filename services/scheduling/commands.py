"""What organisers do to trainings and sessions; each command runs in one unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import msgspec
from litestar.exceptions import PermissionDeniedException
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.scheduling import conflicts, domain
from services.scheduling.schemas import (
    ConflictOut,
    ConflictSessionOut,
    SessionIn,
    SessionPatch,
    TrainingIn,
    TrainingPatch,
)
from services.scheduling.tables import ChangeRow, SeriesRow, SessionRow, TrainingRow
from shared.auth import Staff, require_country
from shared.clock import clock
from shared.countries import UnknownCountry, country
from shared.db import UnitOfWork
from shared.events import contracts as ev
from shared.problems import Problem

WINDOW = ("registration_opens_at", "registration_closes_at")
# Fields every session's calendar event repeats (summary context, location, description).
FEED_FIELDS = frozenset({"title", "venue", "city", "description", "timezone"})


async def get_training(uow: UnitOfWork, training_id: str, staff: Staff | None) -> TrainingRow:
    """The training if the caller may see it; 404 otherwise (drafts are staff-only)."""
    training = await uow.session.get(TrainingRow, training_id)
    if training is None or not visible(training, staff):
        raise Problem(404, f"no training {training_id}")
    return training


def visible(training: TrainingRow, staff: Staff | None) -> bool:
    if training.status != "draft":
        return True
    return staff is not None and staff.may_manage(training.host_country)


async def sessions_of(reading: AsyncSession, training_id: str) -> list[SessionRow]:
    rows = await reading.exec(
        select(SessionRow)
        .where(SessionRow.training_id == training_id)
        .order_by(col(SessionRow.starts_at), col(SessionRow.id))
    )
    return list(rows)


def session_payload(row: SessionRow, timezone: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "revision": row.revision,
        "training_id": row.training_id,
        "title": row.title,
        "kind": row.kind,
        "starts_at": domain.in_zone(row.starts_at, timezone),
        "ends_at": domain.in_zone(row.ends_at, timezone),
        "room": row.room,
        "speakers": [ev.Speaker(**speaker) for speaker in row.speakers],
        "status": row.status,
        "sequence": row.sequence,
        "description": row.description,
    }


async def training_event(
    uow: UnitOfWork, training: TrainingRow, event: type[ev.TrainingData]
) -> ev.TrainingData:
    series = await uow.session.get(SeriesRow, training.series)
    sessions = await sessions_of(uow.session, training.id)
    return event(
        id=training.id,
        revision=training.revision,
        series=training.series,
        series_title=series.title if series else None,
        title=training.title,
        host_country=training.host_country,
        city=training.city,
        venue=training.venue,
        timezone=training.timezone,
        starts_on=training.starts_on,
        ends_on=training.ends_on,
        capacity=training.capacity,
        registration_opens_at=_local(training.registration_opens_at, training.timezone),
        registration_closes_at=_local(training.registration_closes_at, training.timezone),
        moderated=training.moderated,
        language=training.language,
        description=training.description,
        status=training.status,
        sessions=[ev.SessionData(**session_payload(s, training.timezone)) for s in sessions],
    )


def _local(value: datetime | None, timezone: str) -> datetime | None:
    return None if value is None else domain.in_zone(value, timezone)


def _shown(values: dict[str, Any], timezone: str) -> dict[str, Any]:
    """Values as the change log keeps them: JSON, times in the training's zone."""
    local = {
        name: domain.in_zone(value, timezone) if isinstance(value, datetime) else value
        for name, value in values.items()
    }
    shown: dict[str, Any] = msgspec.to_builtins(local)
    return shown


def _record(
    uow: UnitOfWork,
    training: TrainingRow,
    staff: Staff,
    what: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    session_id: str | None = None,
) -> None:
    """Published trainings keep a change log; drafts change freely."""
    if training.status == "draft":
        return
    uow.session.add(
        ChangeRow(
            training_id=training.id,
            session_id=session_id,
            what=what,
            before=None if before is None else _shown(before, training.timezone),
            after=None if after is None else _shown(after, training.timezone),
            who=staff.sub,
            at=clock.now(),
        )
    )


def _host(code: str) -> tuple[str, str | None, str | None]:
    try:
        place = country(code)
    except UnknownCountry:
        raise Problem(
            422, f"{code!r} is not an ISO 3166-1 country code", field="host_country"
        ) from None
    return place.code, place.capital, place.timezone


async def create_training(uow: UnitOfWork, staff: Staff | None, data: TrainingIn) -> TrainingRow:
    code, capital, default_zone = _host(data.host_country)
    staff = require_country(staff, code)
    city = data.city or capital
    if not city:
        raise Problem(422, f"no capital known for {code}: give a city", field="city")
    timezone = data.timezone or default_zone
    if not timezone:
        raise Problem(422, f"{code} spans several time zones: give a timezone", field="timezone")
    domain.zone(timezone)
    domain.check_dates(data.starts_on, data.ends_on)
    opens = _window(data.registration_opens_at, timezone, "registration_opens_at")
    closes = _window(data.registration_closes_at, timezone, "registration_closes_at")
    domain.check_window(opens, closes)
    now = clock.now()
    if await uow.session.get(SeriesRow, data.series) is None:
        uow.session.add(
            SeriesRow(slug=data.series, title=data.series.replace("-", " ").title(), created_at=now)
        )
        await uow.session.flush()
    training = TrainingRow(
        id=str(uuid.uuid4()),
        series=data.series,
        title=data.title,
        host_country=code,
        city=city,
        venue=data.venue,
        timezone=timezone,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        capacity=data.capacity,
        registration_opens_at=opens,
        registration_closes_at=closes,
        moderated=data.moderated,
        language=data.language,
        description=data.description,
        status="draft",
        created_by=staff.sub,
        created_at=now,
        updated_at=now,
        feed_revised_at=now,
    )
    uow.session.add(training)
    return training


def _window(value: datetime | None, timezone: str, field: str) -> datetime | None:
    return None if value is None else domain.to_utc(value, timezone, field)


def _given(data: msgspec.Struct) -> dict[str, Any]:
    return {
        name: getattr(data, name)
        for name in data.__struct_fields__
        if getattr(data, name) is not msgspec.UNSET
    }


async def update_training(
    uow: UnitOfWork, staff: Staff | None, training: TrainingRow, data: TrainingPatch
) -> TrainingRow:
    staff = require_country(staff, training.host_country)
    domain.check_editable(training.status)
    given = _given(data)
    old_zone = training.timezone
    zone = given.get("timezone", old_zone)
    domain.zone(zone)
    for name in WINDOW:
        current = getattr(training, name)
        if name in given:
            given[name] = _window(given[name], zone, name)
        elif zone != old_zone and current is not None:
            given[name] = domain.relocalised(current, old_zone, zone, name)
    changes = {name: value for name, value in given.items() if value != getattr(training, name)}
    if not changes:
        return training
    domain.check_dates(
        changes.get("starts_on", training.starts_on), changes.get("ends_on", training.ends_on)
    )
    domain.check_window(
        changes.get("registration_opens_at", training.registration_opens_at),
        changes.get("registration_closes_at", training.registration_closes_at),
    )
    moved: list[tuple[SessionRow, datetime, datetime]] = []
    if "timezone" in changes:
        # The organiser corrects the zone; the timetable's wall-clock hours stand.
        for session in await sessions_of(uow.session, training.id):
            starts = domain.relocalised(session.starts_at, old_zone, zone, "timezone")
            ends = domain.relocalised(session.ends_at, old_zone, zone, "timezone")
            if (starts, ends) != (session.starts_at, session.ends_at):
                moved.append((session, starts, ends))
    before = {name: getattr(training, name) for name in changes}
    now = clock.now()
    for name, value in changes.items():
        setattr(training, name, value)
    training.revision += 1
    training.updated_at = now
    if FEED_FIELDS & changes.keys():
        training.feed_revised_at = now
    _feed_changed(uow, training)
    _record(uow, training, staff, "training.updated", before, changes)
    for session, starts, ends in moved:
        was = {"starts_at": session.starts_at, "ends_at": session.ends_at}
        session.starts_at, session.ends_at = starts, ends
        _revise(session, timing_changed=True)
        uow.session.add(session)
        _record(
            uow,
            training,
            staff,
            "session.updated",
            was,
            {"starts_at": starts, "ends_at": ends},
            session.id,
        )
        if training.status == "published":
            uow.emit(ev.SessionUpdated(**session_payload(session, training.timezone)))
    if training.status == "published":
        await uow.session.flush()
        uow.emit(await training_event(uow, training, ev.TrainingUpdated))
    return training


def _feed_changed(uow: UnitOfWork, training: TrainingRow) -> None:
    """Every change a feed shows raises the training's feed revision (see feeds.py)."""
    training.feed_revision += 1
    uow.session.add(training)


def _revise(session: SessionRow, *, timing_changed: bool) -> None:
    if timing_changed:
        # RFC 5546: a new start, end or status is a significant change for calendar clients.
        session.sequence += 1
    session.revision += 1
    session.revised_at = clock.now()


async def add_session(
    uow: UnitOfWork, staff: Staff | None, training: TrainingRow, data: SessionIn
) -> SessionRow:
    staff = require_country(staff, training.host_country)
    domain.check_editable(training.status)
    starts_at = domain.to_utc(data.starts_at, training.timezone, "starts_at")
    ends_at = domain.to_utc(data.ends_at, training.timezone, "ends_at")
    domain.check_session_times(starts_at, ends_at)
    session = SessionRow(
        id=str(uuid.uuid4()),
        training_id=training.id,
        title=data.title,
        kind=data.kind,
        starts_at=starts_at,
        ends_at=ends_at,
        room=data.room,
        speakers=[msgspec.to_builtins(s) for s in data.speakers],
        description=data.description,
        revised_at=clock.now(),
    )
    uow.session.add(session)
    _feed_changed(uow, training)
    await uow.session.flush()
    _record(uow, training, staff, "session.scheduled", None, _session_view(session), session.id)
    if training.status == "published":
        uow.emit(ev.SessionScheduled(**session_payload(session, training.timezone)))
    return session


def _session_view(session: SessionRow) -> dict[str, Any]:
    return {
        "title": session.title,
        "kind": session.kind,
        "starts_at": session.starts_at,
        "ends_at": session.ends_at,
        "room": session.room,
        "speakers": session.speakers,
        "description": session.description,
        "status": session.status,
    }


async def get_session(uow: UnitOfWork, training: TrainingRow, session_id: str) -> SessionRow:
    session = await uow.session.get(SessionRow, session_id)
    if session is None or session.training_id != training.id:
        raise Problem(404, f"no session {session_id} in training {training.id}")
    return session


async def update_session(
    uow: UnitOfWork,
    staff: Staff | None,
    training: TrainingRow,
    session: SessionRow,
    data: SessionPatch,
) -> SessionRow:
    staff = require_country(staff, training.host_country)
    domain.check_editable(training.status)
    domain.check_session_changeable(session.status)
    given = _given(data)
    for name in ("starts_at", "ends_at"):
        if name in given:
            given[name] = domain.to_utc(given[name], training.timezone, name)
    if "speakers" in given:
        given["speakers"] = [msgspec.to_builtins(s) for s in given["speakers"]]
    changes = {name: value for name, value in given.items() if value != getattr(session, name)}
    if not changes:
        return session
    domain.check_session_times(
        changes.get("starts_at", session.starts_at), changes.get("ends_at", session.ends_at)
    )
    before = {name: getattr(session, name) for name in changes}
    for name, value in changes.items():
        setattr(session, name, value)
    _revise(session, timing_changed=bool({"starts_at", "ends_at"} & changes.keys()))
    uow.session.add(session)
    _feed_changed(uow, training)
    _record(uow, training, staff, "session.updated", before, changes, session.id)
    if training.status == "published":
        uow.emit(ev.SessionUpdated(**session_payload(session, training.timezone)))
    return session


async def cancel_session(
    uow: UnitOfWork, staff: Staff | None, training: TrainingRow, session: SessionRow
) -> SessionRow:
    staff = require_country(staff, training.host_country)
    domain.check_editable(training.status)
    if session.status == "cancelled":
        return session
    _cancel_session(uow, training, staff, session, public=training.status == "published")
    _feed_changed(uow, training)
    return session


def _cancel_session(
    uow: UnitOfWork, training: TrainingRow, staff: Staff, session: SessionRow, *, public: bool
) -> None:
    session.status = "cancelled"
    _revise(session, timing_changed=True)
    uow.session.add(session)
    if public:
        _record(
            uow,
            training,
            staff,
            "session.cancelled",
            {"status": "scheduled"},
            {"status": "cancelled"},
            session.id,
        )
        uow.emit(ev.SessionCancelled(**session_payload(session, training.timezone)))


# --- conflicts ----------------------------------------------------------------


def _slot(session: SessionRow, training: TrainingRow) -> conflicts.Slot:
    return conflicts.Slot(
        id=session.id,
        training_id=training.id,
        training_title=training.title,
        timezone=training.timezone,
        title=session.title,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        room=session.room,
        speakers=tuple(speaker["name"] for speaker in session.speakers),
        place=conflicts.place(training.city, training.venue),
    )


async def conflicts_of(
    reading: AsyncSession, training: TrainingRow, staff: Staff | None
) -> list[conflicts.Conflict]:
    """The training's conflicts, also with other trainings the caller may see.

    Other trainings count when published or completed, or when they are drafts
    the caller manages: a conflict never reveals another country's draft.
    """
    own_rows = [s for s in await sessions_of(reading, training.id) if s.status != "cancelled"]
    own = [_slot(s, training) for s in own_rows]
    others: list[conflicts.Slot] = []
    if own:
        first = min(s.starts_at for s in own)
        last = max(s.ends_at for s in own)
        rows = await reading.exec(
            select(SessionRow, TrainingRow)
            .join(TrainingRow, col(SessionRow.training_id) == col(TrainingRow.id))
            .where(TrainingRow.id != training.id)
            .where(TrainingRow.status != "cancelled")
            .where(SessionRow.status != "cancelled")
            .where(col(SessionRow.starts_at) < last)
            .where(col(SessionRow.ends_at) > first)
        )
        others = [_slot(s, t) for s, t in rows if visible(t, staff)]
    return conflicts.find(training.starts_on, training.ends_on, training.timezone, own, others)


def conflict_out(conflict: conflicts.Conflict) -> ConflictOut:
    return ConflictOut(
        kind=conflict.kind,
        blocking=conflict.blocking,
        message=conflict.message,
        sessions=[
            ConflictSessionOut(
                id=slot.id,
                training_id=slot.training_id,
                title=slot.title,
                starts_at=domain.in_zone(slot.starts_at, slot.timezone),
                ends_at=domain.in_zone(slot.ends_at, slot.timezone),
            )
            for slot in conflict.sessions
        ],
    )


def involving(found: Iterable[conflicts.Conflict], session_id: str) -> list[conflicts.Conflict]:
    return [c for c in found if any(slot.id == session_id for slot in c.sessions)]


# --- lifecycle ----------------------------------------------------------------


async def publish(
    uow: UnitOfWork, staff: Staff | None, training: TrainingRow, *, override: bool = False
) -> TrainingRow:
    staff = require_country(staff, training.host_country)
    live = [s for s in await sessions_of(uow.session, training.id) if s.status != "cancelled"]
    domain.check_publishable(training.status, len(live))
    blocking = [c for c in await conflicts_of(uow.session, training, staff) if c.blocking]
    if blocking and not override:
        views = [msgspec.to_builtins(conflict_out(c)) for c in blocking]
        raise Problem(
            409,
            f"{len(blocking)} room or speaker conflict(s): "
            + "; ".join(c.message for c in blocking)
            + ". Resolve them, or publish with override_conflicts=true.",
            field="override_conflicts",
            conflicts=views,
        )
    training.status = "published"
    training.revision += 1
    training.updated_at = clock.now()
    _feed_changed(uow, training)
    after: dict[str, Any] = {"status": "published"}
    if blocking:
        after["overridden_conflicts"] = [c.message for c in blocking]
    _record(uow, training, staff, "training.published", {"status": "draft"}, after)
    uow.emit(await training_event(uow, training, ev.TrainingPublished))
    return training


async def complete(uow: UnitOfWork, staff: Staff | None, training: TrainingRow) -> TrainingRow:
    staff = require_country(staff, training.host_country)
    domain.check_completable(training.status, training.starts_on, training.timezone, clock.now())
    training.status = "completed"
    training.revision += 1
    training.updated_at = clock.now()
    _feed_changed(uow, training)
    _record(
        uow, training, staff, "training.completed", {"status": "published"}, {"status": "completed"}
    )
    uow.emit(ev.TrainingCompleted(id=training.id, revision=training.revision))
    return training


async def cancel(
    uow: UnitOfWork, staff: Staff | None, training: TrainingRow, reason: str | None
) -> TrainingRow:
    staff = require_country(staff, training.host_country)
    domain.check_cancellable(training.status)
    was = training.status
    training.status = "cancelled"
    training.revision += 1
    training.updated_at = clock.now()
    _feed_changed(uow, training)
    public = was == "published"
    if public:
        _record(
            uow,
            training,
            staff,
            "training.cancelled",
            {"status": was},
            {"status": "cancelled", "reason": reason},
        )
    for session in await sessions_of(uow.session, training.id):
        if session.status != "cancelled":
            # Calendar clients drop a cancelled training's sessions only if each says so.
            _cancel_session(uow, training, staff, session, public=public)
    # Emitted for a draft too: consumers that never saw the draft ignore it.
    uow.emit(ev.TrainingCancelled(id=training.id, revision=training.revision, reason=reason))
    return training


# --- series -------------------------------------------------------------------


async def set_series_title(uow: UnitOfWork, staff: Staff, slug: str, title: str) -> SeriesRow:
    """The secretariat names any series; an organiser only one held in their countries alone."""
    if not staff.is_secretariat:
        hosts = set(
            await uow.session.exec(
                select(TrainingRow.host_country).where(TrainingRow.series == slug).distinct()
            )
        )
        foreign = sorted(code for code in hosts if not staff.may_manage(code))
        if foreign:
            raise PermissionDeniedException(
                detail=f"series {slug} also has trainings in {', '.join(foreign)}: "
                "only the secretariat may rename it"
            )
    series = await uow.session.get(SeriesRow, slug)
    if series is None:
        series = SeriesRow(slug=slug, title=title, created_at=clock.now())
    elif series.title != title:
        series.title = title
        series.revision += 1
    uow.session.add(series)
    return series
