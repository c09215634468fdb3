"""HTTP routes of the scheduling service: trainings, sessions, series and calendar feeds."""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Any

from litestar import HttpMethod, Request, Response, Router, get, patch, post, put, route
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody
from sqlmodel import col, or_, select

from services.scheduling import commands, domain, feeds
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
    SpeakerOut,
    TrainingIn,
    TrainingOut,
    TrainingPatch,
)
from services.scheduling.tables import ChangeRow, SeriesRow, SessionRow, TrainingRow
from shared.auth import require_staff, staff_of
from shared.db import Database
from shared.params import DB, Caller, Offset
from shared.problems import Problem, problems

# Litestar adds "; charset=utf-8" to text/ media types.
CALENDAR = "text/calendar"
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")


def base_url(state: State) -> str:
    return str(state.settings.public_url("scheduling")).rstrip("/")


def register_url(state: State, training_id: str) -> str:
    base = str(state.settings.public_url("registration")).rstrip("/")
    return f"{base}/register/{training_id}"


def training_out(state: State, training: TrainingRow, sessions: list[SessionRow]) -> TrainingOut:
    base = base_url(state)
    calendar = f"{base}/trainings/{training.id}/calendar.ics"
    return TrainingOut(
        id=training.id,
        series=training.series,
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
        revision=training.revision,
        sessions=[session_out(s, training.timezone) for s in sessions],
        calendar_url=calendar,
        webcal_url=feeds.webcal(calendar),
        page_url=f"{base}/trainings/{training.id}/page",
        register_url=register_url(state, training.id),
    )


def _local(value: Any, timezone: str) -> Any:
    return None if value is None else domain.in_zone(value, timezone)


def _session_fields(session: SessionRow, timezone: str) -> dict[str, Any]:
    return {
        "id": session.id,
        "training_id": session.training_id,
        "title": session.title,
        "kind": session.kind,
        "starts_at": domain.in_zone(session.starts_at, timezone),
        "ends_at": domain.in_zone(session.ends_at, timezone),
        "room": session.room,
        "speakers": [SpeakerOut(**s) for s in session.speakers],
        "description": session.description,
        "status": session.status,
        "sequence": session.sequence,
        "revision": session.revision,
    }


def session_out(session: SessionRow, timezone: str) -> SessionOut:
    return SessionOut(**_session_fields(session, timezone))


def series_out(state: State, series: SeriesRow) -> SeriesOut:
    base = base_url(state)
    calendar = f"{base}/series/{series.slug}/calendar.ics"
    return SeriesOut(
        slug=series.slug,
        title=series.title,
        calendar_url=calendar,
        webcal_url=feeds.webcal(calendar),
        page_url=f"{base}/series/{series.slug}/page",
    )


async def _full(db: Database, state: State, training_id: str) -> TrainingOut:
    async with db.session() as session:
        training = await session.get(TrainingRow, training_id)
        assert training is not None
        rows = await session.exec(
            select(SessionRow)
            .where(SessionRow.training_id == training_id)
            .order_by(col(SessionRow.starts_at), col(SessionRow.id))
        )
        return training_out(state, training, list(rows))


async def may_manage_training(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Guard: staff of the training's host country (401, 403; 404 for an unseen draft).

    It runs before the body is read, so a caller who may not act learns that
    before anything about their input.
    """
    staff = staff_of(connection)
    if staff is None:
        raise NotAuthorizedException(detail="a staff token is required")
    training_id = connection.path_params["training_id"]
    db: Database = connection.app.state.runtime.db
    async with db.session() as session:
        training = await session.get(TrainingRow, training_id)
    if training is None or not commands.visible(training, staff):
        raise Problem(404, f"no training {training_id}")
    if not staff.may_manage(training.host_country):
        raise PermissionDeniedException(
            detail=f"your token does not cover host country {training.host_country}"
        )


# --- trainings ----------------------------------------------------------------


@post(
    "/trainings",
    operation_id="createTraining",
    responses=problems(403, 409, 413, 422),
    status_code=201,
    guards=[require_staff],
)
async def create_training(
    data: JSONBody[TrainingIn], db: DB, staff: Caller, state: State
) -> TrainingOut:
    """Create a draft training in a capital the caller is responsible for."""
    async with db.unit() as uow:
        training = await commands.create_training(uow, staff, data)
    return await _full(db, state, training.id)


@get("/trainings", operation_id="listTrainings", responses=problems(422))
async def list_trainings(
    db: DB,
    staff: Caller,
    state: State,
    series: FromQuery[str | None] = None,
    status: FromQuery[str | None] = None,
    host_country: FromQuery[str | None] = None,
    limit: FromQuery[int] = 100,
    offset: Offset = 0,
) -> dict[str, list[TrainingOut]]:
    """Published trainings for everyone; staff also see their own countries' drafts."""
    if not 1 <= limit <= 500:
        raise Problem(422, "limit must be between 1 and 500", field="limit")
    query = select(TrainingRow)
    if staff is None:
        query = query.where(TrainingRow.status != "draft")
    elif not staff.is_secretariat:
        query = query.where(
            or_(TrainingRow.status != "draft", col(TrainingRow.host_country).in_(staff.countries))
        )
    if series:
        query = query.where(TrainingRow.series == series)
    if status:
        query = query.where(TrainingRow.status == status)
    if host_country:
        query = query.where(TrainingRow.host_country == host_country.upper())
    query = query.order_by(col(TrainingRow.starts_on), col(TrainingRow.id))
    async with db.session() as session:
        trainings = list(await session.exec(query.offset(offset).limit(limit)))
        ids = [t.id for t in trainings]
        by_training: dict[str, list[SessionRow]] = {i: [] for i in ids}
        if ids:
            rows = await session.exec(
                select(SessionRow)
                .where(col(SessionRow.training_id).in_(ids))
                .order_by(col(SessionRow.starts_at), col(SessionRow.id))
            )
            for row in rows:
                by_training[row.training_id].append(row)
    return {"items": [training_out(state, t, by_training[t.id]) for t in trainings]}


@get("/trainings/{training_id:str}", operation_id="getTraining", responses=problems(404))
async def get_training(
    training_id: FromPath[str], db: DB, staff: Caller, state: State
) -> TrainingOut:
    async with db.session() as session:
        training = await session.get(TrainingRow, training_id)
    if training is None or not commands.visible(training, staff):
        raise Problem(404, f"no training {training_id}")
    return await _full(db, state, training_id)


@patch(
    "/trainings/{training_id:str}",
    operation_id="updateTraining",
    responses=problems(403, 404, 409, 413, 422),
    guards=[may_manage_training],
)
async def update_training(
    training_id: FromPath[str], data: JSONBody[TrainingPatch], db: DB, staff: Caller, state: State
) -> TrainingOut:
    """Change a draft or published training; a new zone keeps the sessions' wall-clock hours."""
    async with db.unit() as uow:
        training = await commands.get_training(uow, training_id, staff)
        await commands.update_training(uow, staff, training, data)
    return await _full(db, state, training_id)


@post(
    "/trainings/{training_id:str}/publish",
    operation_id="publishTraining",
    responses=problems(403, 404, 409, 413, 422),
    status_code=200,
    guards=[may_manage_training],
)
async def publish_training(
    training_id: FromPath[str],
    db: DB,
    staff: Caller,
    state: State,
    override_conflicts: FromQuery[bool] = False,
    data: JSONBody[PublishIn | None] = None,
) -> TrainingOut:
    """Publish a draft; a room or speaker clash needs override_conflicts (409 otherwise)."""
    override = override_conflicts or (data is not None and data.override_conflicts)
    async with db.unit() as uow:
        training = await commands.get_training(uow, training_id, staff)
        await commands.publish(uow, staff, training, override=override)
    return await _full(db, state, training_id)


@post(
    "/trainings/{training_id:str}/complete",
    operation_id="completeTraining",
    responses=problems(403, 404, 409),
    status_code=200,
    guards=[may_manage_training],
)
async def complete_training(
    training_id: FromPath[str], db: DB, staff: Caller, state: State
) -> TrainingOut:
    """Mark a published training completed, once its first day has begun in its own zone."""
    async with db.unit() as uow:
        training = await commands.get_training(uow, training_id, staff)
        await commands.complete(uow, staff, training)
    return await _full(db, state, training_id)


@post(
    "/trainings/{training_id:str}/cancel",
    operation_id="cancelTraining",
    responses=problems(403, 404, 409, 413, 422),
    status_code=200,
    guards=[may_manage_training],
)
async def cancel_training(
    training_id: FromPath[str],
    db: DB,
    staff: Caller,
    state: State,
    data: JSONBody[CancelIn | None] = None,
) -> TrainingOut:
    """Cancel a draft or published training and every session in it."""
    async with db.unit() as uow:
        training = await commands.get_training(uow, training_id, staff)
        await commands.cancel(uow, staff, training, data.reason if data else None)
    return await _full(db, state, training_id)


@get(
    "/trainings/{training_id:str}/conflicts",
    operation_id="listConflicts",
    responses=problems(403, 404),
    guards=[may_manage_training],
)
async def list_conflicts(
    training_id: FromPath[str], db: DB, staff: Caller
) -> dict[str, list[ConflictOut]]:
    """Sessions outside the training's dates, rooms booked twice, speakers in two places."""
    async with db.session() as session:
        training = await session.get(TrainingRow, training_id)
        assert training is not None
        found = await commands.conflicts_of(session, training, staff)
    return {"items": [commands.conflict_out(c) for c in found]}


@get(
    "/trainings/{training_id:str}/changes",
    operation_id="listChanges",
    responses=problems(403, 404),
    guards=[may_manage_training],
)
async def list_changes(
    training_id: FromPath[str], db: DB, staff: Caller
) -> dict[str, list[ChangeOut]]:
    """What changed after publication: what, before and after, who and when."""
    async with db.session() as session:
        rows = await session.exec(
            select(ChangeRow)
            .where(ChangeRow.training_id == training_id)
            .order_by(col(ChangeRow.id))
        )
        return {
            "items": [
                ChangeOut(
                    id=row.id or 0,
                    what=row.what,
                    session_id=row.session_id,
                    before=row.before,
                    after=row.after,
                    who=row.who,
                    at=row.at,
                )
                for row in rows
            ]
        }


# --- sessions -----------------------------------------------------------------


async def _written(db: Database, training_id: str, session_id: str, staff: Any) -> SessionWritten:
    async with db.session() as reading:
        training = await reading.get(TrainingRow, training_id)
        session = await reading.get(SessionRow, session_id)
        assert training is not None and session is not None
        found = commands.involving(
            await commands.conflicts_of(reading, training, staff), session_id
        )
        return SessionWritten(
            **_session_fields(session, training.timezone),
            conflicts=[commands.conflict_out(c) for c in found],
        )


@post(
    "/trainings/{training_id:str}/sessions",
    operation_id="addSession",
    responses=problems(403, 404, 409, 413, 422),
    status_code=201,
    guards=[may_manage_training],
)
async def add_session(
    training_id: FromPath[str], data: JSONBody[SessionIn], db: DB, staff: Caller
) -> SessionWritten:
    """Add a session; times without an offset are wall-clock time in the training's zone."""
    async with db.unit() as uow:
        training = await commands.get_training(uow, training_id, staff)
        session = await commands.add_session(uow, staff, training, data)
    return await _written(db, training_id, session.id, staff)


@patch(
    "/trainings/{training_id:str}/sessions/{session_id:str}",
    operation_id="updateSession",
    responses=problems(403, 404, 409, 413, 422),
    guards=[may_manage_training],
)
async def update_session(
    training_id: FromPath[str],
    session_id: FromPath[str],
    data: JSONBody[SessionPatch],
    db: DB,
    staff: Caller,
) -> SessionWritten:
    """Change a session; a new start or end raises its SEQUENCE."""
    async with db.unit() as uow:
        training = await commands.get_training(uow, training_id, staff)
        session = await commands.get_session(uow, training, session_id)
        await commands.update_session(uow, staff, training, session, data)
    return await _written(db, training_id, session_id, staff)


@post(
    "/trainings/{training_id:str}/sessions/{session_id:str}/cancel",
    operation_id="cancelSession",
    responses=problems(403, 404, 409),
    status_code=200,
    guards=[may_manage_training],
)
async def cancel_session(
    training_id: FromPath[str], session_id: FromPath[str], db: DB, staff: Caller
) -> SessionOut:
    """Cancel a session; it stays in every feed, cancelled, with a higher SEQUENCE."""
    async with db.unit() as uow:
        training = await commands.get_training(uow, training_id, staff)
        session = await commands.get_session(uow, training, session_id)
        session = await commands.cancel_session(uow, staff, training, session)
        return session_out(session, training.timezone)


# --- series -------------------------------------------------------------------


@get("/series", operation_id="listSeries", responses=problems())
async def list_series(db: DB, state: State) -> dict[str, list[SeriesOut]]:
    async with db.session() as session:
        rows = await session.exec(select(SeriesRow).order_by(col(SeriesRow.slug)))
        return {"items": [series_out(state, row) for row in rows]}


@get("/series/{slug:str}", operation_id="getSeries", responses=problems(404))
async def get_series(slug: FromPath[str], db: DB, state: State) -> SeriesOut:
    async with db.session() as session:
        series = await session.get(SeriesRow, slug)
    if series is None:
        raise Problem(404, f"no series {slug}")
    return series_out(state, series)


@put(
    "/series/{slug:str}",
    operation_id="setSeries",
    responses=problems(403, 413, 422),
    guards=[require_staff],
)
async def set_series(
    slug: FromPath[str], data: JSONBody[SeriesIn], db: DB, staff: Caller, state: State
) -> SeriesOut:
    """Name a series (creating it if new); a series spanning countries is the secretariat's."""
    assert staff is not None
    if not SLUG.fullmatch(slug):
        raise Problem(422, "a series slug is lower-case letters, digits and '-'", field="slug")
    async with db.unit() as uow:
        series = await commands.set_series_title(uow, staff, slug, data.title)
    return series_out(state, series)


# --- calendar feeds -----------------------------------------------------------


def feed_cache(state: State) -> feeds.FeedCache:
    cache: feeds.FeedCache | None = state.get("feed_cache")
    if cache is None:
        cache = state["feed_cache"] = feeds.FeedCache()
    return cache


def _matches(if_none_match: str, built: feeds.Built) -> bool:
    """RFC 9110 13.1.2: weak comparison over a list of entity tags, or '*'."""
    current = (built.etag, built.gzip_etag)
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") in current:
            return True
    return False


def _accepts_gzip(accept_encoding: str) -> bool:
    for coding in accept_encoding.split(","):
        name, _, params = coding.strip().partition(";")
        if name.strip().lower() == "gzip":
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _calendar_response(
    request: Request[Any, Any, Any],
    built: feeds.Built,
    cache_control: str,
    if_none_match: str | None,
) -> Response[bytes]:
    gzipped = _accepts_gzip(request.headers.get("accept-encoding", ""))
    headers = {
        "ETag": built.gzip_etag if gzipped else built.etag,
        "Cache-Control": cache_control,
        "Vary": "Accept-Encoding",
    }
    if _matches(if_none_match or "", built):
        return Response(b"", status_code=304, headers=headers)
    if gzipped:
        headers["Content-Encoding"] = "gzip"
        return Response(built.gzipped, media_type=CALENDAR, headers=headers)
    return Response(built.body, media_type=CALENDAR, headers=headers)


def _feed_operation(name: str) -> Any:
    """Feeds answer HEAD too (some calendar clients probe with it); OpenAPI wants two ids."""

    def operation_id(_handler: Any, method: Any, _path: Any) -> str:
        return name if str(method).upper().endswith("GET") else f"{name}Head"

    return operation_id


FEED_METHODS = [HttpMethod.GET, HttpMethod.HEAD]
# Declared, so the description shows how a client gets its 304.
IfNoneMatch = Annotated[str | None, HeaderParameter(name="If-None-Match", required=False)]
FEED_RESPONSES = {
    **problems(404),
    304: ResponseSpec(
        data_container=None, description="Not modified: If-None-Match holds the current ETag."
    ),
}


@route(
    "/trainings/{training_id:str}/calendar.ics",
    http_method=FEED_METHODS,
    operation_id=_feed_operation("trainingCalendar"),
    media_type=CALENDAR,
    responses=FEED_RESPONSES,
)
async def training_calendar(
    request: Request[Any, Any, Any],
    training_id: FromPath[str],
    db: DB,
    state: State,
    if_none_match: IfNoneMatch = None,
) -> Response[bytes]:
    """The training's sessions as an iCalendar feed (public once published)."""
    built = await feeds.training_feed(db, feed_cache(state), base_url(state), training_id)
    if built is None:
        raise Problem(404, f"no published training {training_id}")
    return _calendar_response(request, built, "public, max-age=300", if_none_match)


@route(
    "/series/{slug:str}/calendar.ics",
    http_method=FEED_METHODS,
    operation_id=_feed_operation("seriesCalendar"),
    media_type=CALENDAR,
    responses=FEED_RESPONSES,
)
async def series_calendar(
    request: Request[Any, Any, Any],
    slug: FromPath[str],
    db: DB,
    state: State,
    if_none_match: IfNoneMatch = None,
) -> Response[bytes]:
    """Every published training of the series in one feed."""
    built = await feeds.series_feed(db, feed_cache(state), base_url(state), slug)
    if built is None:
        raise Problem(404, f"no series {slug}")
    return _calendar_response(request, built, "public, max-age=300", if_none_match)


@route(
    "/calendars/{feed_file:str}",
    http_method=FEED_METHODS,
    operation_id=_feed_operation("personalCalendar"),
    media_type=CALENDAR,
    responses=FEED_RESPONSES,
)
async def personal_calendar(
    request: Request[Any, Any, Any],
    db: DB,
    state: State,
    feed_file: FromPath[str],
    if_none_match: IfNoneMatch = None,
) -> Response[bytes]:
    """A participant's own trainings; the token is known here only by its SHA-256."""
    token = feed_file.removesuffix(".ics")
    if not token or token == feed_file:
        raise Problem(404, "no such calendar")
    digest = hashlib.sha256(token.encode()).hexdigest()
    built = await feeds.personal_feed(db, feed_cache(state), base_url(state), digest)
    if built is None:
        raise Problem(404, "no such calendar")
    return _calendar_response(request, built, "private, max-age=300", if_none_match)


api = Router(
    path="/",
    route_handlers=[
        create_training,
        list_trainings,
        get_training,
        update_training,
        publish_training,
        complete_training,
        cancel_training,
        list_conflicts,
        list_changes,
        add_session,
        update_session,
        cancel_session,
        list_series,
        get_series,
        set_series,
        training_calendar,
        series_calendar,
        personal_calendar,
    ],
    opt={"exclude_from_csrf": True},
    tags=["scheduling"],
)
