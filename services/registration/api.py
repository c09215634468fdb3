"""HTTP routes of the registration service."""

from __future__ import annotations

from litestar import Router, delete, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, JSONBody
from sqlmodel import col, select

from services.registration import commands
from services.registration.schemas import (
    CatalogueEntry,
    Needs,
    RegisteredOut,
    RegistrationIn,
    RegistrationOut,
)
from services.registration.tables import ParticipantRow, RegistrationRow, TrainingRow
from shared.auth import require_country, require_staff
from shared.clock import clock
from shared.db import UnitOfWork
from shared.params import DB, Caller, ManageToken
from shared.problems import Problem
from shared.settings import Settings


def catalogue_entry(training: TrainingRow) -> CatalogueEntry:
    window = commands._window(training)
    return CatalogueEntry(
        id=training.id,
        title=training.title,
        host_country=training.host_country,
        city=training.city,
        venue=training.venue,
        starts_on=training.starts_on,
        ends_on=training.ends_on,
        timezone=training.timezone,
        seats_left=max(0, training.capacity - training.taken),
        registration_open=window.is_open(clock.now()),
        moderated=training.moderated,
        status=training.status,
    )


async def registration_out(uow: UnitOfWork, row: RegistrationRow) -> RegistrationOut:
    return RegistrationOut(
        id=row.id,
        training_id=row.training_id,
        participant_id=row.participant_id,
        status=row.status,
        name=row.name,
        email=row.email,
        organisation=row.organisation,
        position=row.position,
        country=row.country,
        category=row.category,
        needs=Needs(**row.needs) if row.needs else None,
        waitlist_position=await commands.waitlist_position(uow, row),
        waitlist_reason=row.waitlist_reason,
        checked_in=row.checked_in_at is not None,
        created_at=row.created_at,
    )


@get("/trainings", operation_id="listCatalogue")
async def list_catalogue(db: DB) -> dict[str, list[CatalogueEntry]]:
    """Published trainings with the seats left and whether registration is open now."""
    async with db.session() as session:
        rows = await session.exec(
            select(TrainingRow)
            .where(TrainingRow.status == "published")
            .order_by(col(TrainingRow.starts_on))
        )
        return {"items": [catalogue_entry(row) for row in rows]}


@get("/trainings/{training_id:str}", operation_id="getCatalogueEntry")
async def get_catalogue_entry(training_id: FromPath[str], db: DB) -> CatalogueEntry:
    async with db.session() as session:
        row = await session.get(TrainingRow, training_id)
    if row is None:
        raise Problem(404, f"no training {training_id} open for registration")
    return catalogue_entry(row)


@post(
    "/trainings/{training_id:str}/registrations",
    operation_id="register",
    status_code=201,
)
async def register(
    training_id: FromPath[str], data: JSONBody[RegistrationIn], db: DB, staff: Caller, state: State
) -> RegisteredOut:
    """Register for a training: confirmed while seats are left, else waitlisted (or pending)."""
    settings: Settings = state.settings
    async with db.unit() as uow:
        row, participant, _ = await commands.register(uow, settings, training_id, data, staff)
        out = await registration_out(uow, row)
    link = commands.links(settings, row, participant)
    return RegisteredOut(
        **{name: getattr(out, name) for name in out.__struct_fields__},
        manage_token=link.manage_token,
        manage_url=link.manage_url,
        calendar_url=link.calendar_url,
    )


@get("/registrations/{registration_id:str}", operation_id="getRegistration")
async def get_registration(
    registration_id: FromPath[str],
    db: DB,
    staff: Caller,
    manage_token: ManageToken = None,
) -> RegistrationOut:
    async with db.unit() as uow:
        row = await commands.get_registration(uow, registration_id)
        await commands.authorise(uow, row, staff, manage_token)
        return await registration_out(uow, row)


@post(
    "/registrations/{registration_id:str}/cancel",
    operation_id="cancelRegistration",
    status_code=200,
)
async def cancel_registration(
    registration_id: FromPath[str],
    db: DB,
    staff: Caller,
    state: State,
    manage_token: ManageToken = None,
) -> RegistrationOut:
    async with db.unit() as uow:
        row = await commands.get_registration(uow, registration_id)
        await commands.authorise(uow, row, staff, manage_token)
        await commands.cancel(uow, state.settings, row)
        return await registration_out(uow, row)


async def _staff_registration(
    uow: UnitOfWork, registration_id: FromPath[str], staff: Caller
) -> RegistrationRow:
    row = await commands.get_registration(uow, registration_id)
    training = await uow.session.get(TrainingRow, row.training_id)
    assert training is not None
    require_country(staff, training.host_country)
    return row


@post(
    "/registrations/{registration_id:str}/check-in",
    operation_id="checkIn",
    status_code=200,
    guards=[require_staff],
)
async def check_in(registration_id: FromPath[str], db: DB, staff: Caller) -> RegistrationOut:
    """Staff record that a confirmed participant came, from the training's first day."""
    async with db.unit() as uow:
        row = await _staff_registration(uow, registration_id, staff)
        await commands.check_in(uow, row)
        return await registration_out(uow, row)


@delete(
    "/registrations/{registration_id:str}/check-in",
    operation_id="undoCheckIn",
    status_code=200,
    guards=[require_staff],
)
async def undo_check_in(registration_id: FromPath[str], db: DB, staff: Caller) -> RegistrationOut:
    async with db.unit() as uow:
        row = await _staff_registration(uow, registration_id, staff)
        await commands.undo_check_in(uow, row)
        return await registration_out(uow, row)


@get(
    "/trainings/{training_id:str}/registrations",
    operation_id="listRegistrations",
    guards=[require_staff],
)
async def list_registrations(
    training_id: FromPath[str], db: DB, staff: Caller, status: FromQuery[str | None] = None
) -> dict[str, list[RegistrationOut]]:
    async with db.unit() as uow:
        training = await uow.session.get(TrainingRow, training_id)
        if training is None:
            raise Problem(404, f"no training {training_id}")
        require_country(staff, training.host_country)
        query = select(RegistrationRow).where(RegistrationRow.training_id == training_id)
        if status:
            query = query.where(RegistrationRow.status == status)
        rows = list(await uow.session.exec(query.order_by(col(RegistrationRow.arrival))))
        return {"items": [await registration_out(uow, row) for row in rows]}


__all__ = ["ParticipantRow"]

api = Router(
    path="/",
    route_handlers=[
        list_catalogue,
        get_catalogue_entry,
        register,
        get_registration,
        cancel_registration,
        check_in,
        undo_check_in,
        list_registrations,
    ],
    opt={"exclude_from_csrf": True},
    tags=["registration"],
)
