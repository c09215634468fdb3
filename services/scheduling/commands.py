"""What organisers do to trainings, sessions and series: one use case per command.

Every command is `(uow, settings, who, input)`: it reads the clock once, loads its rows,
lets the domain decide, stores, logs the change and emits the events. Who may act was
settled by the route's guard; only checks that depend on the body remain here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import msgspec

from services.scheduling import audits, domain, queries, views
from services.scheduling.edits import editable, editing, with_session
from services.scheduling.schemas import SessionIn, SessionPatch, TrainingIn, TrainingPatch
from services.scheduling.tables import SeriesRow, SessionRow, TrainingRow
from shared.audit import audited
from shared.clock import clock
from shared.commands import OneTraining
from shared.db import UnitOfWork
from shared.errors import Forbidden
from shared.events import contracts as ev
from shared.settings import Settings
from shared.staff import Staff
from shared.structs import filled, provided


@dataclass(frozen=True)
class UpdateTraining(OneTraining):
    changes: TrainingPatch


@dataclass(frozen=True)
class PublishTraining(OneTraining):
    override_conflicts: bool = False


@dataclass(frozen=True)
class CancelTraining(OneTraining):
    reason: str | None = None


CompleteTraining = OneTraining  # completing needs nothing but the training


@dataclass(frozen=True)
class AddSession(OneTraining):
    session: SessionIn


@dataclass(frozen=True)
class OneSession(OneTraining):
    """The input of a command about one session of a training."""

    session_id: str


@dataclass(frozen=True)
class UpdateSession(OneSession):
    changes: SessionPatch


CancelSession = OneSession  # cancelling needs nothing but the session


# --- trainings ----------------------------------------------------------------


@audited("training.created", audits.created)
async def create_training(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: TrainingIn
) -> TrainingRow:
    """A draft training in a capital the caller is responsible for (the host is in the body)."""
    code, capital, default_zone = domain.host(input.host_country)
    if who is None or not who.may_manage(code):
        raise Forbidden(f"your token does not cover host country {code}", field="host_country")
    city, timezone = domain.place(code, input.city or capital, input.timezone or default_zone)
    domain.check_dates(input.starts_on, input.ends_on)
    moments = dict(zip(domain.MOMENTS, domain.moments(input, timezone), strict=True))
    now = clock.now()
    if await uow.session.get(SeriesRow, input.series) is None:
        uow.session.add(
            SeriesRow(
                slug=input.series, title=input.series.replace("-", " ").title(), created_at=now
            )
        )
        await uow.session.flush()
    training = filled(
        TrainingRow,
        input,
        id=str(uuid.uuid4()),
        host_country=code,
        city=city,
        timezone=timezone,
        status="draft",
        created_by=who.sub,
        created_at=now,
        updated_at=now,
        feed_revised_at=now,
        **moments,
    )
    uow.session.add(training)
    return training


@audited("training.updated", audits.training)
async def update_training(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: UpdateTraining
) -> TrainingRow:
    """Change a draft or published training; a new zone keeps the sessions' wall-clock hours.

    New dates must keep every live session within them (409 listing those outside) unless
    `shift_sessions` moves the timetable along by as many days as the first day moved."""
    edit = await editable(uow, who, input.training_id)
    training = edit.training
    old_zone, old_start = training.timezone, training.starts_on
    fields = [n for n in TrainingPatch.__struct_fields__ if n != "shift_sessions"]
    sent = {k: v for k, v in provided(input.changes).items() if k != "shift_sessions"}
    changes = domain.training_changes({n: getattr(training, n) for n in fields}, sent)
    if not changes:
        return training
    zone = changes.get("timezone", old_zone)
    days = (changes.get("starts_on", old_start) - old_start).days
    days = days if input.changes.shift_sessions else 0
    moved: list[tuple[SessionRow, datetime, datetime]] = []
    timings: list[domain.Timing] = []
    for session in await queries.sessions_of(uow.session, training.id):
        starts = domain.retimed(session.starts_at, old_zone, zone, days)
        ends = domain.retimed(session.ends_at, old_zone, zone, days)
        if (starts, ends) != (session.starts_at, session.ends_at):
            moved.append((session, starts, ends))
        if session.status != "cancelled":
            timings.append(domain.Timing(session.id, session.title, starts, ends))
    if {"starts_on", "ends_on"} & changes.keys():
        ends_on = changes.get("ends_on", training.ends_on)
        domain.check_timetable_fits(changes.get("starts_on", old_start), ends_on, zone, timings)
    before = {name: getattr(training, name) for name in changes}
    for name, value in changes.items():
        setattr(training, name, value)
    if domain.FEED_FIELDS & changes.keys():
        training.feed_revised_at = edit.now
    edit.revise_training()
    edit.log("training.updated", before, changes)
    for session, starts, ends in moved:
        was = {"starts_at": session.starts_at, "ends_at": session.ends_at}
        session.starts_at, session.ends_at = starts, ends
        edit.revise(session, timing_changed=True)
        edit.log("session.updated", was, {"starts_at": starts, "ends_at": ends}, session.id)
        edit.announce(session, ev.SessionUpdated)
    if training.status == "published":
        return await edit.announced(ev.TrainingUpdated)
    return training


# --- sessions -----------------------------------------------------------------


@audited("session.added", audits.session)
async def add_session(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: AddSession
) -> SessionRow:
    """Add a session; times without an offset are wall-clock time in the training's zone."""
    edit = await editable(uow, who, input.training_id)
    training, data = edit.training, input.session
    starts_at = domain.to_utc(data.starts_at, training.timezone, "starts_at")
    ends_at = domain.to_utc(data.ends_at, training.timezone, "ends_at")
    domain.check_session_times(starts_at, ends_at)
    domain.check_session_within(
        training.starts_on, training.ends_on, training.timezone, starts_at, ends_at
    )
    session = filled(
        SessionRow,
        data,
        id=str(uuid.uuid4()),
        training_id=training.id,
        starts_at=starts_at,
        ends_at=ends_at,
        speakers=[msgspec.to_builtins(s) for s in data.speakers],
        revised_at=edit.now,
    )
    uow.session.add(session)
    edit.feed_changed()
    await uow.session.flush()
    logged = views.logged_session(session, training.timezone)
    edit.log("session.scheduled", None, logged, session.id)
    edit.announce(session, ev.SessionScheduled)
    return session


@audited("session.updated", audits.session)
async def update_session(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: UpdateSession
) -> SessionRow:
    """Change a session; a new start or end raises its SEQUENCE."""
    edit, session = await with_session(uow, who, input.training_id, input.session_id)
    edit.check_changeable(session)
    training = edit.training
    current = {name: getattr(session, name) for name in SessionPatch.__struct_fields__}
    changes = domain.session_changes(current, provided(input.changes), training.timezone)
    if not changes:
        return session
    starts, ends = (changes.get(n, current[n]) for n in ("starts_at", "ends_at"))
    domain.check_session_within(
        training.starts_on, training.ends_on, training.timezone, starts, ends
    )
    before = {name: getattr(session, name) for name in changes}
    for name, value in changes.items():
        setattr(session, name, value)
    edit.revise(session, timing_changed=bool({"starts_at", "ends_at"} & changes.keys()))
    edit.feed_changed()
    edit.log("session.updated", before, changes, session.id)
    edit.announce(session, ev.SessionUpdated)
    return session


@audited("session.cancelled", audits.session)
async def cancel_session(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: CancelSession
) -> SessionRow:
    """Cancel a session; it stays in every feed, cancelled, with a higher SEQUENCE."""
    edit, session = await with_session(uow, who, input.training_id, input.session_id)
    change = domain.session_cancelled(edit.training.status, session.status)
    if change is None:
        return session
    edit.cancel_session(session, change, public=edit.training.status == "published")
    edit.feed_changed()
    return session


# --- lifecycle ----------------------------------------------------------------


@audited("training.published", audits.training)
async def publish(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: PublishTraining
) -> TrainingRow:
    """Publish a draft; a room or speaker clash needs override_conflicts."""
    edit = await editing(uow, who, input.training_id)
    training = edit.training
    sessions = await queries.sessions_of(uow.session, training.id)
    live = [s for s in sessions if s.status != "cancelled"]
    found = await queries.conflicts_of(uow.session, training, who)
    blocking = [c for c in found if c.blocking]
    change = domain.published(
        training.status, len(live), blocking, override=input.override_conflicts
    )
    edit.apply(change)
    return await edit.announced(ev.TrainingPublished)


@audited("training.completed", audits.training)
async def complete(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: CompleteTraining
) -> TrainingRow:
    """Mark a published training completed, once its first day has begun in its own zone."""
    edit = await editing(uow, who, input.training_id)
    training = edit.training
    edit.apply(domain.completed(training.status, training.starts_on, training.timezone, edit.now))
    uow.emit(ev.TrainingCompleted(id=training.id, revision=training.revision))
    return training


@audited("training.cancelled", audits.training)
async def cancel(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: CancelTraining
) -> TrainingRow:
    """Cancel a draft or published training and every session in it."""
    edit = await editing(uow, who, input.training_id)
    training = edit.training
    public = training.status == "published"
    edit.apply(domain.cancelled(training.status, input.reason), logged=public)
    for session in await queries.sessions_of(uow.session, training.id):
        if session.status != "cancelled":
            # Calendar clients drop a cancelled training's sessions only if each says so.
            edit.cancel_session(session, domain.SESSION_CANCELLED, public=public)
    # Emitted for a draft too: consumers that never saw the draft ignore it.
    uow.emit(ev.TrainingCancelled(id=training.id, revision=training.revision, reason=input.reason))
    return training
