"""What organisers do to trainings, sessions and series: one use case per command.

Every command is `(uow, settings, who, input)`: it reads the clock once, loads its rows,
lets the domain decide, stores, logs the change and emits the events. Who may act was
settled by the route's guard; only checks that depend on the body remain here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from services.scheduling import audits, domain, events, queries, views
from services.scheduling.schemas import SessionIn, SessionPatch, TrainingIn, TrainingPatch
from services.scheduling.tables import ChangeRow, SeriesRow, SessionRow, TrainingRow
from shared.audit import audited
from shared.clock import clock
from shared.db import UnitOfWork
from shared.errors import Forbidden
from shared.events import contracts as ev
from shared.settings import Settings
from shared.staff import Staff
from shared.structs import filled, provided


@dataclass(frozen=True)
class OnTraining:
    """The input of a command about one training: which one."""

    training_id: str


@dataclass(frozen=True)
class UpdateTraining(OnTraining):
    changes: TrainingPatch


@dataclass(frozen=True)
class PublishTraining(OnTraining):
    override_conflicts: bool = False


@dataclass(frozen=True)
class CancelTraining(OnTraining):
    reason: str | None = None


CompleteTraining = OnTraining  # completing needs nothing but the training


@dataclass(frozen=True)
class AddSession(OnTraining):
    session: SessionIn


@dataclass(frozen=True)
class UpdateSession(OnTraining):
    session_id: str
    changes: SessionPatch


@dataclass(frozen=True)
class CancelSession(OnTraining):
    session_id: str


def _log_change(
    uow: UnitOfWork,
    training: TrainingRow,
    who: Staff | None,
    now: datetime,
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
            before=None if before is None else views.shown(before, training.timezone),
            after=None if after is None else views.shown(after, training.timezone),
            who=who.sub if who is not None else "system",
            at=now,
        )
    )


def _feed_changed(uow: UnitOfWork, training: TrainingRow) -> None:
    """Every change a feed shows raises the training's feed revision (see feeds.py)."""
    training.feed_revision += 1
    uow.session.add(training)


def _announce(
    uow: UnitOfWork, training: TrainingRow, session: SessionRow, event: type[ev.SessionData]
) -> None:
    """Consumers hear of a session's changes once its training is published."""
    if training.status == "published":
        uow.emit(events.session_data(session, training.timezone, event))


def _revise(uow: UnitOfWork, session: SessionRow, now: datetime, *, timing_changed: bool) -> None:
    """A new revision of the session, stored with the unit of work."""
    if timing_changed:
        # RFC 5546: a new start, end or status is a significant change for calendar clients.
        session.sequence += 1
    session.revision += 1
    session.revised_at = now
    uow.session.add(session)


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
    now = clock.now()
    training = await queries.training(uow.session, input.training_id)
    domain.check_editable(training.status)
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
    training.revision += 1
    training.updated_at = now
    if domain.FEED_FIELDS & changes.keys():
        training.feed_revised_at = now
    _feed_changed(uow, training)
    _log_change(uow, training, who, now, "training.updated", before, changes)
    for session, starts, ends in moved:
        was = {"starts_at": session.starts_at, "ends_at": session.ends_at}
        session.starts_at, session.ends_at = starts, ends
        _revise(uow, session, now, timing_changed=True)
        after = {"starts_at": starts, "ends_at": ends}
        _log_change(uow, training, who, now, "session.updated", was, after, session.id)
        _announce(uow, training, session, ev.SessionUpdated)
    if training.status == "published":
        await uow.session.flush()
        uow.emit(await events.training_data(uow, training, ev.TrainingUpdated))
    return training


# --- sessions -----------------------------------------------------------------


@audited("session.added", audits.session)
async def add_session(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: AddSession
) -> SessionRow:
    """Add a session; times without an offset are wall-clock time in the training's zone."""
    now = clock.now()
    training = await queries.training(uow.session, input.training_id)
    domain.check_editable(training.status)
    data = input.session
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
        revised_at=now,
    )
    uow.session.add(session)
    _feed_changed(uow, training)
    await uow.session.flush()
    logged = views.logged_session(session, training.timezone)
    _log_change(uow, training, who, now, "session.scheduled", None, logged, session.id)
    _announce(uow, training, session, ev.SessionScheduled)
    return session


@audited("session.updated", audits.session)
async def update_session(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: UpdateSession
) -> SessionRow:
    """Change a session; a new start or end raises its SEQUENCE."""
    now = clock.now()
    training = await queries.training(uow.session, input.training_id)
    session = await queries.session_of(uow.session, training.id, input.session_id)
    domain.check_editable(training.status)
    domain.check_session_changeable(session.status)
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
    _revise(uow, session, now, timing_changed=bool({"starts_at", "ends_at"} & changes.keys()))
    _feed_changed(uow, training)
    _log_change(uow, training, who, now, "session.updated", before, changes, session.id)
    _announce(uow, training, session, ev.SessionUpdated)
    return session


@audited("session.cancelled", audits.session)
async def cancel_session(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: CancelSession
) -> SessionRow:
    """Cancel a session; it stays in every feed, cancelled, with a higher SEQUENCE."""
    now = clock.now()
    training = await queries.training(uow.session, input.training_id)
    session = await queries.session_of(uow.session, training.id, input.session_id)
    change = domain.session_cancelled(training.status, session.status)
    if change is None:
        return session
    _cancel_session(uow, training, who, now, session, change, public=training.status == "published")
    _feed_changed(uow, training)
    return session


def _cancel_session(
    uow: UnitOfWork,
    training: TrainingRow,
    who: Staff | None,
    now: datetime,
    session: SessionRow,
    change: domain.Change,
    *,
    public: bool,
) -> None:
    session.status = change.status
    _revise(uow, session, now, timing_changed=True)
    if public:
        _log_change(uow, training, who, now, change.what, change.before, change.after, session.id)
        uow.emit(events.session_data(session, training.timezone, ev.SessionCancelled))


# --- lifecycle ----------------------------------------------------------------


def _apply(
    uow: UnitOfWork,
    training: TrainingRow,
    who: Staff | None,
    change: domain.Change,
    now: datetime,
    *,
    logged: bool = True,
) -> None:
    """Move the training to the change's status; the change log, kept from publication
    on, records it when `logged`."""
    training.status = change.status
    training.revision += 1
    training.updated_at = now
    _feed_changed(uow, training)
    if logged:
        _log_change(uow, training, who, now, change.what, change.before, change.after)


@audited("training.published", audits.training)
async def publish(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: PublishTraining
) -> TrainingRow:
    """Publish a draft; a room or speaker clash needs override_conflicts."""
    now = clock.now()
    training = await queries.training(uow.session, input.training_id)
    sessions = await queries.sessions_of(uow.session, training.id)
    live = [s for s in sessions if s.status != "cancelled"]
    found = await queries.conflicts_of(uow.session, training, who)
    blocking = [c for c in found if c.blocking]
    change = domain.published(
        training.status, len(live), blocking, override=input.override_conflicts
    )
    _apply(uow, training, who, change, now)
    uow.emit(await events.training_data(uow, training, ev.TrainingPublished))
    return training


@audited("training.completed", audits.training)
async def complete(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: CompleteTraining
) -> TrainingRow:
    """Mark a published training completed, once its first day has begun in its own zone."""
    now = clock.now()
    training = await queries.training(uow.session, input.training_id)
    change = domain.completed(training.status, training.starts_on, training.timezone, now)
    _apply(uow, training, who, change, now)
    uow.emit(ev.TrainingCompleted(id=training.id, revision=training.revision))
    return training


@audited("training.cancelled", audits.training)
async def cancel(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: CancelTraining
) -> TrainingRow:
    """Cancel a draft or published training and every session in it."""
    now = clock.now()
    training = await queries.training(uow.session, input.training_id)
    change = domain.cancelled(training.status, input.reason)
    public = training.status == "published"
    _apply(uow, training, who, change, now, logged=public)
    for session in await queries.sessions_of(uow.session, training.id):
        if session.status != "cancelled":
            # Calendar clients drop a cancelled training's sessions only if each says so.
            _cancel_session(
                uow, training, who, now, session, domain.SESSION_CANCELLED, public=public
            )
    # Emitted for a draft too: consumers that never saw the draft ignore it.
    uow.emit(ev.TrainingCancelled(id=training.id, revision=training.revision, reason=input.reason))
    return training
