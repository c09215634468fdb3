"""HTTP routes of the registration service (JSON); app.py groups them into routers."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, delete, get, post, put
from litestar.background_tasks import BackgroundTask
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.registration import commands, privacy
from services.registration.batching import GroupCommit
from services.registration.commands import NewRegistration
from services.registration.schemas import (
    CalendarLinkOut,
    CatalogueEntry,
    EmailIn,
    ErasureOut,
    PrivacyExport,
    Quotas,
    RegisteredOut,
    RegistrationIn,
    RegistrationOut,
)
from services.registration.tables import RegistrationRow, TrainingRow
from shared.auth import Staff, require_country, require_secretariat, staff_of
from shared.clock import clock
from shared.countries import is_country
from shared.db import Database
from shared.params import DB, Caller, ManageToken, Offset
from shared.problems import Problem, problems
from shared.settings import Settings
from shared.spreadsheets import csv_text
from shared.throttle import THROTTLE

log = logging.getLogger(__name__)

Intake = GroupCommit[NewRegistration, RegisteredOut]
Registrations = NamedDependency[Intake]


class RegistrationList(msgspec.Struct):
    items: list[RegistrationOut]
    total: int
    limit: int
    offset: int


# --- guards: who may act, decided before any body is read --------------------------


def _db(connection: ASGIConnection[Any, Any, Any, Any]) -> Database:
    return connection.app.state.runtime.db


def _staff(connection: ASGIConnection[Any, Any, Any, Any]) -> Staff:
    staff = staff_of(connection)
    if staff is None:
        raise NotAuthorizedException(detail="a staff token is required")
    return staff


async def host_of_training(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Guard: an organiser of the training's host country, or the secretariat."""
    staff = _staff(connection)
    training_id = connection.path_params["training_id"]
    async with _db(connection).session() as session:
        training = await session.get(TrainingRow, training_id)
    if training is None:
        raise Problem(404, f"no training {training_id}", field="training_id")
    require_country(staff, training.host_country)


async def host_of_registration(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Guard: staff of the host country of the registration's training."""
    staff = _staff(connection)
    registration_id = connection.path_params["registration_id"]
    async with _db(connection).session() as session:
        found = (
            await session.exec(
                select(TrainingRow.host_country)
                .join(RegistrationRow, col(RegistrationRow.training_id) == TrainingRow.id)
                .where(RegistrationRow.id == registration_id)
            )
        ).first()
    if found is None:
        raise Problem(404, f"no registration {registration_id}")
    require_country(staff, found)


# --- catalogue ----------------------------------------------------------------------


def catalogue_entry(training: TrainingRow) -> CatalogueEntry:
    return CatalogueEntry(
        id=training.id,
        title=training.title,
        host_country=training.host_country,
        city=training.city,
        venue=training.venue,
        starts_on=training.starts_on,
        ends_on=training.ends_on,
        timezone=training.timezone,
        capacity=training.capacity,
        seats_left=max(0, training.capacity - training.taken),
        registration_open=commands.window(training).is_open(clock.now()),
        registration_opens_at=training.registration_opens_at,
        registration_closes_at=training.registration_closes_at,
        moderated=training.moderated,
        language=training.language,
        status=training.status,
        description=training.description,
    )


async def published_trainings(session: AsyncSession) -> list[TrainingRow]:
    rows = await session.exec(
        select(TrainingRow)
        .where(TrainingRow.status == "published")
        .order_by(col(TrainingRow.starts_on), col(TrainingRow.title))
    )
    return list(rows)


@get("/trainings", operation_id="listCatalogue", responses=problems())
async def list_catalogue(db: DB) -> dict[str, list[CatalogueEntry]]:
    """Published trainings with the seats left and whether registration is open now."""
    async with db.session() as session:
        return {"items": [catalogue_entry(row) for row in await published_trainings(session)]}


@get("/trainings/{training_id:str}", operation_id="getCatalogueEntry", responses=problems(404))
async def get_catalogue_entry(training_id: FromPath[str], db: DB) -> CatalogueEntry:
    async with db.session() as session:
        row = await session.get(TrainingRow, training_id)
    if row is None:
        raise Problem(404, f"no training {training_id}", field="training_id")
    return catalogue_entry(row)


# --- participants ---------------------------------------------------------------------


@post(
    "/trainings/{training_id:str}/registrations",
    operation_id="register",
    responses=problems(404, 409, 413, 422, 429, 503),
    status_code=201,
    middleware=[THROTTLE],
)
async def register(
    training_id: FromPath[str],
    data: JSONBody[RegistrationIn],
    request: Request[Any, Any, Any],
    registrations: Registrations,
) -> RegisteredOut:
    """Register: confirmed while seats are left, else waitlisted; pending if moderated.

    Staff of the host country may also register someone outside the window (and their
    registrations need no approval). The answer is the only one that carries the
    manage token.
    """
    commands.check_submission(data)
    # The caller is read here rather than injected: Litestar resolves two or more
    # dependencies in an anyio task group, which costs this busiest route a tenth of
    # its time (measured with bench/registration.py).
    staff = staff_of(request)
    return await registrations.submit(NewRegistration(training_id, data, staff))


async def _owned(
    session: Any, registration_id: str, staff: Staff | None, manage_token: str | None
) -> Any:
    """The registration, if the caller holds its manage token or manages its training."""
    row = await commands.get_registration(session, registration_id)
    await commands.authorise(session, row, staff, manage_token)
    return row


@get(
    "/registrations/{registration_id:str}",
    operation_id="getRegistration",
    responses=problems(403, 404),
)
async def get_registration(
    registration_id: FromPath[str],
    db: DB,
    staff: Caller,
    manage_token: ManageToken = None,
) -> RegistrationOut:
    """The participant (X-Manage-Token) or staff of the host country."""
    async with db.session() as session:
        row = await _owned(session, registration_id, staff, manage_token)
        position = await commands.waitlist_position(session, row)
    return commands.registration_out(row, position)


@post(
    "/registrations/{registration_id:str}/cancel",
    operation_id="cancelRegistration",
    responses=problems(403, 404, 409),
    status_code=200,
)
async def cancel_registration(
    registration_id: FromPath[str],
    db: DB,
    staff: Caller,
    state: State,
    manage_token: ManageToken = None,
) -> RegistrationOut:
    """Cancel (participant or staff); a freed seat goes to the first on the waitlist."""
    async with db.session() as session:
        row = await _owned(session, registration_id, staff, manage_token)
    async with db.unit() as uow:
        row, training = await commands.locked(uow, registration_id)
        await commands.cancel(uow, state.settings, row, training)
    return commands.registration_out(row, None)


@post(
    "/registrations/{registration_id:str}/calendar-link",
    operation_id="renewCalendarLink",
    responses=problems(403, 404),
    status_code=200,
)
async def renew_calendar_link(
    registration_id: FromPath[str],
    db: DB,
    staff: Caller,
    state: State,
    manage_token: ManageToken = None,
) -> CalendarLinkOut:
    """A new personal calendar link; the old one stops working."""
    async with db.session() as session:
        row = await _owned(session, registration_id, staff, manage_token)
    async with db.unit() as uow:
        url = await commands.renew_calendar_link(uow, state.settings, row.participant_id)
    return CalendarLinkOut(calendar_url=url)


@post(
    "/manage-link",
    operation_id="mailManageLink",
    responses=problems(413, 422, 429),
    status_code=202,
    middleware=[THROTTLE],
)
async def mail_manage_link(
    data: JSONBody[EmailIn], db: DB, state: State
) -> Response[dict[str, str]]:
    """Mail the links again; the answer is the same whether or not the address is known."""
    # The work happens after the answer, so its time tells nothing about the address.
    return Response(
        {"detail": LINKS_SENT},
        status_code=202,
        background=BackgroundTask(send_links, db, state.settings, data.email),
    )


LINKS_SENT = "If this address holds a registration, its links are on their way to it."


async def send_links(db: Database, settings: Settings, email: str) -> None:
    try:
        async with db.unit() as uow:
            await commands.mail_links(uow, settings, email)
    except Exception:
        log.exception("links not mailed")


# --- staff ----------------------------------------------------------------------------


Limit = Annotated[int, QueryParameter(ge=1, le=10_000)]
Text = Annotated[str | None, QueryParameter(max_length=200)]
CountryFilter = Annotated[str | None, QueryParameter(min_length=2, max_length=2)]
CheckedInFilter = Annotated[bool | None, QueryParameter(name="checked_in")]


async def _registrations(
    db: Database,
    training_id: str,
    status: str | None,
    country: str | None,
    checked_in: bool | None,
    q: str | None,
    limit: int,
    offset: int,
) -> tuple[list[RegistrationOut], int]:
    query = select(RegistrationRow).where(RegistrationRow.training_id == training_id)
    if status:
        query = query.where(col(RegistrationRow.status).in_(commands.statuses(status.split(","))))
    if country:
        query = query.where(RegistrationRow.country == country.upper())
    if checked_in is not None:
        checked = col(RegistrationRow.checked_in_at)
        query = query.where(checked.is_not(None) if checked_in else checked.is_(None))
    if q and q.strip():
        needle = q.strip()
        query = query.where(
            col(RegistrationRow.name).icontains(needle, autoescape=True)
            | col(RegistrationRow.email).icontains(needle, autoescape=True)
            | col(RegistrationRow.organisation).icontains(needle, autoescape=True)
        )
    async with db.session() as session:
        total = (await session.exec(select(func.count()).select_from(query.subquery()))).one()
        rows = list(
            await session.exec(
                query.order_by(col(RegistrationRow.arrival)).limit(limit).offset(offset)
            )
        )
        positions = await commands.waitlist_of(session, training_id)
    return [commands.registration_out(row, positions.get(row.id)) for row in rows], int(total)


@get(
    "/trainings/{training_id:str}/registrations",
    operation_id="listRegistrations",
    responses=problems(403, 404, 422),
    guards=[host_of_training],
)
async def list_registrations(
    training_id: FromPath[str],
    db: DB,
    status: Text = None,
    country: CountryFilter = None,
    checked_in: CheckedInFilter = None,
    q: Text = None,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> RegistrationList:
    """A training's registrations in arrival order. Filters: `status` (comma-separated),
    `country`, `checked_in`, `q` (name, e-mail or organisation contains)."""
    items, total = await _registrations(
        db, training_id, status, country, checked_in, q, limit, offset
    )
    return RegistrationList(items=items, total=total, limit=limit, offset=offset)


CSV_COLUMNS = (
    "id",
    "status",
    "waitlist_position",
    "waitlist_reason",
    "name",
    "email",
    "organisation",
    "position",
    "country",
    "category",
    "needs_access",
    "needs_diet",
    "checked_in",
    "created_at",
)


@get(
    "/trainings/{training_id:str}/registrations.csv",
    operation_id="exportRegistrations",
    responses=problems(403, 404, 422),
    guards=[host_of_training],
    media_type="text/csv",
)
async def export_registrations(
    training_id: FromPath[str],
    db: DB,
    status: Text = None,
    country: CountryFilter = None,
    checked_in: CheckedInFilter = None,
    q: Text = None,
) -> Response[bytes]:
    """The same list as CSV, with a header row; the same filters."""
    items, _ = await _registrations(
        db, training_id, status, country, checked_in, q, limit=100_000, offset=0
    )
    rows = (
        (
            item.id,
            item.status,
            item.waitlist_position,
            item.waitlist_reason,
            item.name,
            item.email,
            item.organisation,
            item.position,
            item.country,
            item.category,
            item.needs.access if item.needs else None,
            item.needs.diet if item.needs else None,
            "yes" if item.checked_in else "no",
            item.created_at.isoformat(),
        )
        for item in items
    )
    return Response(
        csv_text(CSV_COLUMNS, rows).encode(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="registrations-{training_id}.csv"'},
    )


async def _staff_change(db: Database, registration_id: str, change: Any) -> RegistrationOut:
    async with db.unit() as uow:
        row, training = await commands.locked(uow, registration_id)
        await change(uow, row, training)
        await uow.session.flush()
        position = await commands.waitlist_position(uow.session, row)
    return commands.registration_out(row, position)


@post(
    "/registrations/{registration_id:str}/approve",
    operation_id="approveRegistration",
    responses=problems(403, 404, 409),
    status_code=200,
    guards=[host_of_registration],
)
async def approve(registration_id: FromPath[str], db: DB, state: State) -> RegistrationOut:
    """Pending → confirmed while seats (and the country's quota) allow, else waitlisted."""

    async def change(uow: Any, row: Any, training: Any) -> None:
        await commands.approve(uow, state.settings, row, training)

    return await _staff_change(db, registration_id, change)


@post(
    "/registrations/{registration_id:str}/decline",
    operation_id="declineRegistration",
    responses=problems(403, 404, 409),
    status_code=200,
    guards=[host_of_registration],
)
async def decline(registration_id: FromPath[str], db: DB, state: State) -> RegistrationOut:
    """Decline an active registration; a seat it held goes to the waitlist at once."""

    async def change(uow: Any, row: Any, training: Any) -> None:
        await commands.decline(uow, state.settings, row, training)

    return await _staff_change(db, registration_id, change)


@post(
    "/registrations/{registration_id:str}/check-in",
    operation_id="checkIn",
    responses=problems(403, 404, 409, 422),
    status_code=200,
    guards=[host_of_registration],
)
async def check_in(registration_id: FromPath[str], db: DB) -> RegistrationOut:
    """Record that a confirmed participant came: from the training's first day until it
    is completed."""
    return await _staff_change(db, registration_id, commands.check_in)


@delete(
    "/registrations/{registration_id:str}/check-in",
    operation_id="undoCheckIn",
    responses=problems(403, 404, 409, 422),
    status_code=200,
    guards=[host_of_registration],
)
async def undo_check_in(registration_id: FromPath[str], db: DB) -> RegistrationOut:
    return await _staff_change(db, registration_id, commands.undo_check_in)


@get(
    "/trainings/{training_id:str}/quotas",
    operation_id="getQuotas",
    responses=problems(403, 404),
    guards=[host_of_training],
)
async def get_quotas(training_id: FromPath[str], db: DB) -> dict[str, int]:
    async with db.session() as session:
        return await commands.quotas_of(session, training_id)


@put(
    "/trainings/{training_id:str}/quotas",
    operation_id="setQuotas",
    responses=problems(403, 404, 409, 413, 422),
    guards=[host_of_training],
)
async def set_quotas(
    training_id: FromPath[str], data: JSONBody[Quotas], db: DB, state: State
) -> dict[str, int]:
    """Replace the training's quotas: `{country: maximum confirmed seats}`; `{}` removes them."""
    quotas: dict[str, int] = {}
    for code, maximum in data.items():
        if not is_country(code):
            raise Problem(422, f"{code!r} is not a known country code", field=code)
        if not 0 <= maximum <= 100_000:
            raise Problem(422, f"the maximum for {code} must be 0 or more", field=code)
        quotas[code.upper()] = maximum
    async with db.unit() as uow:
        training = await commands.training_for_update(uow, training_id)
        return await commands.set_quotas(uow, state.settings, training, quotas)


# --- privacy --------------------------------------------------------------------------


@post(
    "/privacy/export",
    operation_id="exportPersonalData",
    responses=problems(403, 413, 422),
    status_code=200,
    guards=[require_secretariat],
)
async def export_personal_data(data: JSONBody[EmailIn], db: DB) -> PrivacyExport:
    """Everything held about one person (secretariat)."""
    async with db.session() as session:
        return await privacy.export(session, data.email)


@post(
    "/privacy/erase",
    operation_id="erasePersonalData",
    responses=problems(403, 409, 413, 422),
    status_code=200,
    guards=[require_secretariat],
)
async def erase_personal_data(data: JSONBody[EmailIn], db: DB, state: State) -> ErasureOut:
    """Erase one person's data (secretariat); seats they held go to the waitlist."""
    async with db.unit() as uow:
        return await privacy.erase(uow, state.settings, data.email)


ROUTES = [
    register,
    mail_manage_link,
    list_catalogue,
    get_catalogue_entry,
    get_registration,
    cancel_registration,
    renew_calendar_link,
    list_registrations,
    export_registrations,
    approve,
    decline,
    check_in,
    undo_check_in,
    get_quotas,
    set_quotas,
    export_personal_data,
    erase_personal_data,
]
