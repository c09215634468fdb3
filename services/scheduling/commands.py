"""What organisers do to trainings and sessions; each command runs in one unit of work."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from sqlmodel import col, select

from services.scheduling import domain
from services.scheduling.schemas import SessionIn, SessionPatch, TrainingIn, TrainingPatch
from services.scheduling.tables import ChangeRow, SeriesRow, SessionRow, TrainingRow
from shared.auth import Staff, require_country
from shared.clock import clock
from shared.countries import UnknownCountry, country
from shared.db import UnitOfWork
from shared.events import contracts as ev
from shared.problems import Problem


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


async def sessions_of(uow: UnitOfWork, training_id: str) -> list[SessionRow]:
    rows = await uow.session.exec(
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
    sessions = await sessions_of(uow, training.id)
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
        registration_opens_at=training.registration_opens_at,
        registration_closes_at=training.registration_closes_at,
        moderated=training.moderated,
        language=training.language,
        description=training.description,
        status=training.status,
        sessions=[ev.SessionData(**session_payload(s, training.timezone)) for s in sessions],
    )


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
            before=msgspec.to_builtins(before) if before is not None else None,
            after=msgspec.to_builtins(after) if after is not None else None,
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
    )
    uow.session.add(training)
    return training


def _window(value: datetime | None, timezone: str, field: str) -> datetime | None:
    return None if value is None else domain.to_utc(value, timezone, field)


async def update_training(
    uow: UnitOfWork, staff: Staff | None, training: TrainingRow, data: TrainingPatch
) -> TrainingRow:
    staff = require_country(staff, training.host_country)
    domain.check_editable(training.status)
    changes = {
        name: getattr(data, name)
        for name in data.__struct_fields__
        if getattr(data, name) is not msgspec.UNSET
    }
    if not changes:
        return training
    timezone = changes.get("timezone", training.timezone)
    domain.zone(timezone)
    for name in ("registration_opens_at", "registration_closes_at"):
        if name in changes:
            changes[name] = _window(changes[name], timezone, name)
    before = {name: getattr(training, name) for name in changes}
    starts_on = changes.get("starts_on", training.starts_on)
    ends_on = changes.get("ends_on", training.ends_on)
    domain.check_dates(starts_on, ends_on)
    domain.check_window(
        changes.get("registration_opens_at", training.registration_opens_at),
        changes.get("registration_closes_at", training.registration_closes_at),
    )
    for name, value in changes.items():
        setattr(training, name, value)
    training.revision += 1
    training.updated_at = clock.now()
    uow.session.add(training)
    _record(uow, training, staff, "training.updated", before, changes)
    if training.status == "published":
        uow.emit(await training_event(uow, training, ev.TrainingUpdated))
    return training


async def add_session(
    uow: UnitOfWork, staff: Staff | None, training: TrainingRow, data: SessionIn
) -> SessionRow:
    staff = require_country(staff, training.host_country)
    domain.check_editable(training.status)
    starts_at = domain.to_utc(data.starts_at, training.timezone, "starts_at")
    ends_at = domain.to_utc(data.ends_at, training.timezone, "ends_at")
    domain.check_session_times(starts_at, ends_at)
    now = clock.now()
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
        revised_at=now,
    )
    uow.session.add(session)
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
    if session.status == "cancelled":
        raise Problem(409, "a cancelled session cannot be changed")
    before = _session_view(session)
    changes = {
        name: getattr(data, name)
        for name in data.__struct_fields__
        if getattr(data, name) is not msgspec.UNSET
    }
    for name in ("starts_at", "ends_at"):
        if name in changes:
            changes[name] = domain.to_utc(changes[name], training.timezone, name)
    if "speakers" in changes:
        changes["speakers"] = [msgspec.to_builtins(s) for s in changes["speakers"]]
    starts_at = changes.get("starts_at", session.starts_at)
    ends_at = changes.get("ends_at", session.ends_at)
    domain.check_session_times(starts_at, ends_at)
    timing_changed = starts_at != session.starts_at or ends_at != session.ends_at
    for name, value in changes.items():
        setattr(session, name, value)
    if timing_changed:
        # RFC 5546: a new start or end is a significant change for calendar clients.
        session.sequence += 1
    session.revision += 1
    session.revised_at = clock.now()
    uow.session.add(session)
    _record(uow, training, staff, "session.updated", before, _session_view(session), session.id)
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
    before = _session_view(session)
    session.status = "cancelled"
    session.sequence += 1
    session.revision += 1
    session.revised_at = clock.now()
    uow.session.add(session)
    _record(uow, training, staff, "session.cancelled", before, _session_view(session), session.id)
    if training.status == "published":
        uow.emit(ev.SessionCancelled(**session_payload(session, training.timezone)))
    return session


async def publish(uow: UnitOfWork, staff: Staff | None, training: TrainingRow) -> TrainingRow:
    staff = require_country(staff, training.host_country)
    live = [s for s in await sessions_of(uow, training.id) if s.status != "cancelled"]
    domain.check_publishable(training.status, len(live))
    training.status = "published"
    training.revision += 1
    training.updated_at = clock.now()
    uow.session.add(training)
    _record(
        uow, training, staff, "training.published", {"status": "draft"}, {"status": "published"}
    )
    uow.emit(await training_event(uow, training, ev.TrainingPublished))
    return training


async def complete(uow: UnitOfWork, staff: Staff | None, training: TrainingRow) -> TrainingRow:
    staff = require_country(staff, training.host_country)
    domain.check_completable(training.status, training.starts_on, training.timezone, clock.now())
    training.status = "completed"
    training.revision += 1
    training.updated_at = clock.now()
    uow.session.add(training)
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
    uow.session.add(training)
    now = clock.now()
    for session in await sessions_of(uow, training.id):
        if session.status != "cancelled":
            # Calendar clients drop a cancelled training's sessions only if each says so.
            session.status = "cancelled"
            session.sequence += 1
            session.revision += 1
            session.revised_at = now
            uow.session.add(session)
    if was == "published":
        _record(
            uow,
            training,
            staff,
            "training.cancelled",
            {"status": was},
            {"status": "cancelled", "reason": reason},
        )
        uow.emit(ev.TrainingCancelled(id=training.id, revision=training.revision, reason=reason))
    return training


async def set_series_title(
    uow: UnitOfWork, staff: Staff | None, slug: str, title: str
) -> SeriesRow:
    if staff is None:
        from litestar.exceptions import NotAuthorizedException

        raise NotAuthorizedException(detail="a staff token is required")
    series = await uow.session.get(SeriesRow, slug)
    if series is None:
        series = SeriesRow(slug=slug, title=title, created_at=clock.now())
    else:
        series.title = title
    uow.session.add(series)
    return series
