"""HTTP routes of the scheduling service: trainings, sessions, series and calendar feeds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from litestar import Request, Response, Router, get, post, put, route
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody

from services.scheduling import commands, feeds, guards, links, queries, views
from services.scheduling import series as series_commands
from services.scheduling.feeds import CALENDAR, FEED_METHODS, FEED_RESPONSES, IfNoneMatch
from services.scheduling.schemas import (
    CancelIn,
    ChangeOut,
    ConflictOut,
    PublishIn,
    SeriesIn,
    SeriesOut,
    SessionIn,
    SessionOut,
    SessionPatch,
    SessionWritten,
    TrainingIn,
    TrainingOut,
    TrainingPatch,
)
from shared.auth import require_staff
from shared.commands import Command, OneTraining
from shared.db import Database
from shared.errors import Invalid, NotFound
from shared.params import DB, AppSettings, Caller, Offset, StaffMember
from shared.problems import problems
from shared.routes import (
    Call,
    CommandCall,
    guarded,
    guarded_action,
    guarded_get,
    guarded_patch,
    guarded_post,
    items,
)
from shared.tokens import digest

# --- trainings ----------------------------------------------------------------

# Who may call a route is declared once for its group, in `api` at the end.


@post(
    "/trainings",
    operation_id="createTraining",
    responses=problems(403, 409, 413, 422),
    status_code=201,
)
async def create_training(data: JSONBody[TrainingIn], call: Call) -> TrainingOut:
    """Create a draft training in a capital the caller is responsible for."""
    training = await call.run(commands.create_training, data)
    return await _training_view(call, training.id)


@get("/trainings", operation_id="listTrainings", responses=problems(422))
async def list_trainings(
    db: DB,
    staff: Caller,
    settings: AppSettings,
    series: FromQuery[str | None] = None,
    status: FromQuery[str | None] = None,
    host_country: FromQuery[str | None] = None,
    limit: FromQuery[int] = 100,
    offset: Offset = 0,
) -> dict[str, list[TrainingOut]]:
    """Published trainings for everyone; staff also see their own countries' drafts."""
    if not 1 <= limit <= 500:
        raise Invalid("limit must be between 1 and 500", field="limit")
    filters = queries.TrainingFilters(series, status, host_country, limit, offset)
    async with db.session() as reading:
        found = await queries.trainings(reading, staff, filters)
    return {"items": [views.training_out(settings, t, sessions) for t, sessions in found]}


@get("/trainings/{training_id:str}", operation_id="getTraining", responses=problems(404))
async def get_training(
    training_id: FromPath[str], db: DB, staff: Caller, settings: AppSettings
) -> TrainingOut:
    async with db.session() as reading:
        training = await queries.training_for(reading, training_id, staff)
        return views.training_out(
            settings, training, await queries.sessions_of(reading, training_id)
        )


@guarded_patch("/trainings/{training_id:str}", operation_id="updateTraining")
async def update_training(
    training_id: FromPath[str], data: JSONBody[TrainingPatch], call: Call
) -> TrainingOut:
    """Change a draft or published training; a new zone keeps the sessions' wall-clock hours.

    New dates that would leave sessions outside them are refused (409, the sessions listed
    under `sessions`) unless `shift_sessions: true` moves every session along by as many
    days as `starts_on` moved, at the same wall-clock time."""
    change = commands.UpdateTraining(training_id, data)
    return await _training_after(call, commands.update_training, change)


@guarded_post(
    "/trainings/{training_id:str}/publish", operation_id="publishTraining", status_code=200
)
async def publish_training(
    training_id: FromPath[str],
    call: Call,
    override_conflicts: FromQuery[bool] = False,
    data: JSONBody[PublishIn | None] = None,
) -> TrainingOut:
    """Publish a draft; a room or speaker clash needs override_conflicts (409 otherwise)."""
    override = override_conflicts or (data is not None and data.override_conflicts)
    change = commands.PublishTraining(training_id, override)
    return await _training_after(call, commands.publish, change)


@guarded_action("/trainings/{training_id:str}/complete", operation_id="completeTraining")
async def complete_training(training_id: FromPath[str], call: Call) -> TrainingOut:
    """Mark a published training completed, once its first day has begun in its own zone."""
    change = commands.CompleteTraining(training_id)
    return await _training_after(call, commands.complete, change)


@guarded_post("/trainings/{training_id:str}/cancel", operation_id="cancelTraining", status_code=200)
async def cancel_training(
    training_id: FromPath[str], call: Call, data: JSONBody[CancelIn | None] = None
) -> TrainingOut:
    """Cancel a draft or published training and every session in it."""
    change = commands.CancelTraining(training_id, data.reason if data else None)
    return await _training_after(call, commands.cancel, change)


async def _training_after(
    call: CommandCall, command: Command[Any], change: OneTraining
) -> TrainingOut:
    """Run one change to a training in its own unit of work; answer the training as it is now."""
    await call.run(command, change)
    return await _training_view(call, change.training_id)


async def _training_view(call: CommandCall, training_id: str) -> TrainingOut:
    async with call.db.session() as reading:
        return await views.training_view(reading, call.settings, training_id)


@guarded_get("/trainings/{training_id:str}/conflicts", operation_id="listConflicts")
async def list_conflicts(
    training_id: FromPath[str], db: DB, who: StaffMember
) -> dict[str, list[ConflictOut]]:
    """Sessions outside the training's dates, rooms booked twice, speakers in two places."""
    async with db.session() as reading:
        training = await queries.training(reading, training_id)
        found = await queries.conflicts_of(reading, training, who)
    return {"items": [views.conflict_out(c) for c in found]}


@guarded_get("/trainings/{training_id:str}/changes", operation_id="listChanges")
async def list_changes(training_id: FromPath[str], db: DB) -> dict[str, list[ChangeOut]]:
    """What changed after publication: what, before and after, who and when."""
    return await items(db, queries.changes_of, training_id, views.change_out)


# --- sessions -----------------------------------------------------------------


@guarded_post("/trainings/{training_id:str}/sessions", operation_id="addSession", status_code=201)
async def add_session(
    training_id: FromPath[str], data: JSONBody[SessionIn], call: Call
) -> SessionWritten:
    """Add a session within the training's days (else 422 naming `starts_at`), local time."""
    session = await call.run(commands.add_session, commands.AddSession(training_id, data))
    return await _session_written(call, training_id, session.id)


@guarded_patch(
    "/trainings/{training_id:str}/sessions/{session_id:str}", operation_id="updateSession"
)
async def update_session(
    training_id: FromPath[str], session_id: FromPath[str], data: JSONBody[SessionPatch], call: Call
) -> SessionWritten:
    """Change a session; a new start or end raises its SEQUENCE."""
    command = commands.UpdateSession(training_id, session_id, data)
    await call.run(commands.update_session, command)
    return await _session_written(call, training_id, session_id)


async def _session_written(call: CommandCall, training_id: str, session_id: str) -> SessionWritten:
    """The session as written, with the conflicts it now has that the caller may see."""
    async with call.db.session() as reading:
        return await views.session_written(reading, training_id, session_id, call.who)


@guarded_action(
    "/trainings/{training_id:str}/sessions/{session_id:str}/cancel", operation_id="cancelSession"
)
async def cancel_session(
    training_id: FromPath[str], session_id: FromPath[str], call: Call
) -> SessionOut:
    """Cancel a session; it stays in every feed, cancelled, with a higher SEQUENCE."""
    await call.run(commands.cancel_session, commands.CancelSession(training_id, session_id))
    async with call.db.session() as reading:
        return await views.session_view(reading, training_id, session_id)


# --- series -------------------------------------------------------------------


@get("/series", operation_id="listSeries", responses=problems())
async def list_series(db: DB, settings: AppSettings) -> dict[str, list[SeriesOut]]:
    async with db.session() as reading:
        rows = await queries.all_series(reading)
    return {"items": [views.series_out(settings, row) for row in rows]}


@get("/series/{slug:str}", operation_id="getSeries", responses=problems(404))
async def get_series(slug: FromPath[str], db: DB, settings: AppSettings) -> SeriesOut:
    async with db.session() as reading:
        series = await queries.series(reading, slug)
    return views.series_out(settings, series)


@put("/series/{slug:str}", operation_id="setSeries", responses=problems(403, 413, 422))
async def set_series(slug: FromPath[str], data: JSONBody[SeriesIn], call: Call) -> SeriesOut:
    """Name a series (creating it if new); a series spanning countries is the secretariat's."""
    command = series_commands.NameSeries(slug, data.title)
    series = await call.run(series_commands.set_series_title, command)
    return views.series_out(call.settings, series)


# --- calendar feeds -----------------------------------------------------------


@dataclass(frozen=True)
class FeedCall:
    """A calendar feed's request, and what answering it takes."""

    request: Request[Any, Any, Any]
    db: Database
    cache: feeds.FeedCache
    base: str
    if_none_match: str | None

    async def answer(
        self,
        build: Callable[[Database, feeds.FeedCache, str, str], Awaitable[feeds.Built | None]],
        key: str,
        cache_control: str,
        missing: str,
    ) -> Response[bytes]:
        """The feed `build` makes for `key` (304 if the client has it), or 404 `missing`."""
        built = await build(self.db, self.cache, self.base, key)
        if built is None:
            raise NotFound(missing)
        return feeds.calendar_response(self.request, built, cache_control, self.if_none_match)


def provide_feed_call(
    request: Request[Any, Any, Any],
    db: DB,
    state: State,
    settings: AppSettings,
    if_none_match: IfNoneMatch = None,
) -> FeedCall:
    base = links.base_url(settings)
    return FeedCall(request, db, feeds.feed_cache(state), base, if_none_match)


Feed = NamedDependency[FeedCall]
feed_route = partial(
    route,
    http_method=FEED_METHODS,
    media_type=CALENDAR,
    responses=FEED_RESPONSES,
    dependencies={"feed": Provide(provide_feed_call, sync_to_thread=False)},
)
PUBLIC_FEED = "public, max-age=300"


@feed_route(
    "/trainings/{training_id:str}/calendar.ics",
    operation_id=feeds.feed_operation("trainingCalendar"),
)
async def training_calendar(training_id: FromPath[str], feed: Feed) -> Response[bytes]:
    """The training's sessions as an iCalendar feed (public once published)."""
    missing = f"no published training {training_id}"
    return await feed.answer(feeds.training_feed, training_id, PUBLIC_FEED, missing)


@feed_route("/series/{slug:str}/calendar.ics", operation_id=feeds.feed_operation("seriesCalendar"))
async def series_calendar(slug: FromPath[str], feed: Feed) -> Response[bytes]:
    """Every published training of the series in one feed."""
    return await feed.answer(feeds.series_feed, slug, PUBLIC_FEED, f"no series {slug}")


@feed_route("/calendars/{feed_file:str}", operation_id=feeds.feed_operation("personalCalendar"))
async def personal_calendar(feed_file: FromPath[str], feed: Feed) -> Response[bytes]:
    """A participant's own trainings; the token is known here only by its SHA-256."""
    token = feed_file.removesuffix(".ics")
    if not token or token == feed_file:
        raise NotFound("no such calendar")
    private = "private, max-age=300"
    return await feed.answer(feeds.personal_feed, digest(token), private, "no such calendar")


api = Router(
    path="/",
    # In the order the API reference lists them.
    route_handlers=[
        guarded(require_staff, create_training),
        list_trainings,
        get_training,
        guarded(
            guards.manages_training,
            update_training,
            publish_training,
            complete_training,
            cancel_training,
            list_conflicts,
            list_changes,
            add_session,
            update_session,
            cancel_session,
        ),
        list_series,
        get_series,
        guarded(require_staff, set_series),
        training_calendar,
        series_calendar,
        personal_calendar,
    ],
    opt={"exclude_from_csrf": True},
    tags=["scheduling"],
)
