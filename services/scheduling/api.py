"""HTTP routes of the scheduling service: trainings, sessions, series and calendar feeds."""

from __future__ import annotations

import hashlib
from typing import Any

from litestar import Request, Response, Router, get, patch, post, put
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, JSONBody
from sqlmodel import col, or_, select

from services.scheduling import commands, feeds
from services.scheduling.schemas import (
    CancelIn,
    ChangeOut,
    SeriesIn,
    SeriesOut,
    SessionIn,
    SessionOut,
    SessionPatch,
    SpeakerOut,
    TrainingIn,
    TrainingOut,
    TrainingPatch,
)
from services.scheduling.tables import ChangeRow, SeriesRow, SessionRow, TrainingRow
from shared.auth import require_country, require_staff
from shared.params import DB, Caller
from shared.problems import Problem


def _urls(state: State) -> str:
    return str(state.settings.public_url("scheduling"))


def training_out(base: str, training: TrainingRow, sessions: list[SessionRow]) -> TrainingOut:
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
    )


def _local(value: Any, timezone: str) -> Any:
    from services.scheduling.domain import in_zone

    return None if value is None else in_zone(value, timezone)


def session_out(session: SessionRow, timezone: str) -> SessionOut:
    from services.scheduling.domain import in_zone

    return SessionOut(
        id=session.id,
        training_id=session.training_id,
        title=session.title,
        kind=session.kind,
        starts_at=in_zone(session.starts_at, timezone),
        ends_at=in_zone(session.ends_at, timezone),
        room=session.room,
        speakers=[SpeakerOut(**s) for s in session.speakers],
        description=session.description,
        status=session.status,
        sequence=session.sequence,
        revision=session.revision,
    )


async def _full(db: DB, state: State, training_id: FromPath[str]) -> TrainingOut:
    async with db.unit() as uow:
        training = await uow.session.get(TrainingRow, training_id)
        assert training is not None
        return training_out(_urls(state), training, await commands.sessions_of(uow, training_id))


@post("/trainings", operation_id="createTraining", status_code=201)
async def create_training(
    data: JSONBody[TrainingIn], db: DB, staff: Caller, state: State
) -> TrainingOut:
    """Create a draft training in a capital the caller is responsible for."""
    async with db.unit() as uow:
        training = await commands.create_training(uow, staff, data)
    return await _full(db, state, training.id)


@get("/trainings", operation_id="listTrainings")
async def list_trainings(
    db: DB,
    staff: Caller,
    state: State,
    series: FromQuery[str | None] = None,
    status: FromQuery[str | None] = None,
) -> dict[str, list[TrainingOut]]:
    """Published trainings for everyone; staff also see their own countries' drafts."""
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
    async with db.session() as session:
        trainings = list(await session.exec(query.order_by(col(TrainingRow.starts_on))))
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
    base = _urls(state)
    return {"items": [training_out(base, t, by_training[t.id]) for t in trainings]}


@get("/trainings/{training_id:str}", operation_id="getTraining")
async def get_training(
    training_id: FromPath[str], db: DB, staff: Caller, state: State
) -> TrainingOut:
    async with db.unit() as uow:
        training = await commands.get_training(uow, training_id, staff)
        return training_out(_urls(state), training, await commands.sessions_of(uow, training_id))


@patch("/trainings/{training_id:str}", operation_id="updateTraining", guards=[require_staff])
async def update_training(
    training_id: FromPath[str], data: JSONBody[TrainingPatch], db: DB, staff: Caller, state: State
) -> TrainingOut:
    async with db.unit() as uow:
        training = await commands.get_training(uow, training_id, staff)
        await commands.update_training(uow, staff, training, data)
    return await _full(db, state, training_id)


@post(
    "/trainings/{training_id:str}/sessions",
    operation_id="addSession",
    status_code=201,
    guards=[require_staff],
)
async def add_session(
    training_id: FromPath[str], data: JSONBody[SessionIn], db: DB, staff: Caller
) -> SessionOut:
    async with db.unit() as uow:
        training = await commands.get_training(uow, training_id, staff)
        session = await commands.add_session(uow, staff, training, data)
        return session_out(session, training.timezone)


@patch(
    "/trainings/{training_id:str}/sessions/{session_id:str}",
    operation_id="updateSession",
    guards=[require_staff],
)
async def update_session(
    training_id: FromPath[str],
    session_id: FromPath[str],
    data: JSONBody[SessionPatch],
    db: DB,
    staff: Caller,
) -> SessionOut:
    async with db.unit() as uow:
        training = await commands.get_training(uow, training_id, staff)
        session = await commands.get_session(uow, training, session_id)
        session = await commands.update_session(uow, staff, training, session, data)
        return session_out(session, training.timezone)


@post(
    "/trainings/{training_id:str}/sessions/{session_id:str}/cancel",
    operation_id="cancelSession",
    status_code=200,
    guards=[require_staff],
)
async def cancel_session(
    training_id: FromPath[str], session_id: FromPath[str], db: DB, staff: Caller
) -> SessionOut:
    async with db.unit() as uow:
        training = await commands.get_training(uow, training_id, staff)
        session = await commands.get_session(uow, training, session_id)
        session = await commands.cancel_session(uow, staff, training, session)
        return session_out(session, training.timezone)


@post(
    "/trainings/{training_id:str}/publish",
    operation_id="publishTraining",
    status_code=200,
    guards=[require_staff],
)
async def publish_training(
    training_id: FromPath[str], db: DB, staff: Caller, state: State
) -> TrainingOut:
    async with db.unit() as uow:
        training = await commands.get_training(uow, training_id, staff)
        await commands.publish(uow, staff, training)
    return await _full(db, state, training_id)


@post(
    "/trainings/{training_id:str}/complete",
    operation_id="completeTraining",
    status_code=200,
    guards=[require_staff],
)
async def complete_training(
    training_id: FromPath[str], db: DB, staff: Caller, state: State
) -> TrainingOut:
    async with db.unit() as uow:
        training = await commands.get_training(uow, training_id, staff)
        await commands.complete(uow, staff, training)
    return await _full(db, state, training_id)


@post(
    "/trainings/{training_id:str}/cancel",
    operation_id="cancelTraining",
    status_code=200,
    guards=[require_staff],
)
async def cancel_training(
    training_id: FromPath[str],
    db: DB,
    staff: Caller,
    state: State,
    data: JSONBody[CancelIn | None] = None,
) -> TrainingOut:
    async with db.unit() as uow:
        training = await commands.get_training(uow, training_id, staff)
        await commands.cancel(uow, staff, training, data.reason if data else None)
    return await _full(db, state, training_id)


@get(
    "/trainings/{training_id:str}/changes",
    operation_id="listChanges",
    guards=[require_staff],
)
async def list_changes(
    training_id: FromPath[str], db: DB, staff: Caller
) -> dict[str, list[ChangeOut]]:
    """What changed after publication: what, before and after, who and when."""
    async with db.unit() as uow:
        training = await commands.get_training(uow, training_id, staff)
        require_country(staff, training.host_country)
        rows = await uow.session.exec(
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


@put("/series/{slug:str}", operation_id="setSeries", guards=[require_staff])
async def set_series(
    slug: FromPath[str], data: JSONBody[SeriesIn], db: DB, staff: Caller, state: State
) -> SeriesOut:
    async with db.unit() as uow:
        series = await commands.set_series_title(uow, staff, slug, data.title)
    calendar = f"{_urls(state)}/series/{series.slug}/calendar.ics"
    return SeriesOut(
        slug=series.slug,
        title=series.title,
        calendar_url=calendar,
        webcal_url=feeds.webcal(calendar),
    )


def _calendar_response(request: Request[Any, Any, Any], body: bytes) -> Response[bytes]:
    etag = feeds.etag(body)
    headers = {"ETag": etag, "Cache-Control": "public, max-age=300"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(b"", status_code=304, headers=headers)
    return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)


@get("/trainings/{training_id:str}/calendar.ics", operation_id="trainingCalendar")
async def training_calendar(
    request: Request[Any, Any, Any], training_id: FromPath[str], db: DB, state: State
) -> Response[bytes]:
    """The training's sessions as an iCalendar feed (public once published)."""
    body = await feeds.training_feed(db, _urls(state), training_id)
    if body is None:
        raise Problem(404, f"no published training {training_id}")
    return _calendar_response(request, body)


@get("/series/{slug:str}/calendar.ics", operation_id="seriesCalendar")
async def series_calendar(
    request: Request[Any, Any, Any], slug: FromPath[str], db: DB, state: State
) -> Response[bytes]:
    """Every published training of the series in one feed."""
    async with db.session() as session:
        if await session.get(SeriesRow, slug) is None:
            raise Problem(404, f"no series {slug}")
    body = await feeds.series_feed(db, _urls(state), slug)
    return _calendar_response(request, body)


@get("/calendars/{feed_file:str}", operation_id="personalCalendar")
async def personal_calendar(
    request: Request[Any, Any, Any],
    db: DB,
    state: State,
    feed_file: FromPath[str],
) -> Response[bytes]:
    """A participant's own trainings; the token is known here only by its SHA-256."""
    token = feed_file.removesuffix(".ics")
    if not token or token == feed_file:
        raise Problem(404, "no such calendar")
    digest = hashlib.sha256(token.encode()).hexdigest()
    body = await feeds.personal_feed(db, _urls(state), digest)
    if body is None:
        raise Problem(404, "no such calendar")
    response = _calendar_response(request, body)
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


api = Router(
    path="/",
    route_handlers=[
        create_training,
        list_trainings,
        get_training,
        update_training,
        add_session,
        update_session,
        cancel_session,
        publish_training,
        complete_training,
        cancel_training,
        list_changes,
        set_series,
        training_calendar,
        series_calendar,
        personal_calendar,
    ],
    opt={"exclude_from_csrf": True},
    tags=["scheduling"],
)
