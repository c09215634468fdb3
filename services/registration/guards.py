"""Who may act on a training or a registration, decided before any body is read."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import HeaderParameter
from litestar.response import Template
from litestar.types import ControllerRouterHandler
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.registration import queries
from services.registration.tables import RegistrationRow, TrainingRow
from shared import staff_pages, tokens
from shared.auth import host_country_guard, staff_of
from shared.errors import NotFound
from shared.params import DB, AppSettings, StaffMember
from shared.routes import guarded
from shared.staff import Staff
from shared.staff_pages import PageRefused, managed_training, staff_router


async def _training_host(session: AsyncSession, training_id: str, _: Staff) -> str | None:
    # The 404 names the path parameter, as the API has always answered.
    return (await queries.training(session, training_id)).host_country


async def _registration_host(session: AsyncSession, registration_id: str, _: Staff) -> str:
    host = await queries.host_of_registration(session, registration_id)
    if host is None:
        raise NotFound(f"no registration {registration_id}")
    return host


# An organiser of the training's host country, or the secretariat.
host_of_training = host_country_guard("training_id", _training_host, "training")
# Staff of the host country of the registration's training.
host_of_registration = host_country_guard("registration_id", _registration_host, "registration")


async def holder_or_host(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """The holder of the registration's manage token (`X-Manage-Token`), or staff of its
    training's host country. A wrong or missing token learns nothing (404); staff of another
    country are told they may not (403)."""
    registration_id = str(connection.path_params["registration_id"])
    token = connection.headers.get("x-manage-token")
    staff = staff_of(connection)
    async with connection.app.state.runtime.db.session() as session:
        row = await queries.get_registration(session, registration_id)
        if (
            token is not None
            and row.erased_at is None
            and tokens.matches(token, row.manage_token_sha256)
        ):
            return
        if staff is not None:
            host = await queries.host_of_registration(session, registration_id)
            if host is not None and staff.may_manage(host):
                return
            if token is None:
                raise PermissionDeniedException(
                    detail="your token does not cover this training's host country"
                )
    raise NotFound(f"no registration {registration_id}")


async def holder(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Only the holder of the registration's manage token (`X-Manage-Token`): what the
    participant alone does, such as asking for their visa letter. Anyone else: 404."""
    registration_id = str(connection.path_params["registration_id"])
    token = connection.headers.get("x-manage-token")
    async with connection.app.state.runtime.db.session() as session:
        row = await queries.get_registration(session, registration_id)
    if (
        token is None
        or row.erased_at is not None
        or not tokens.matches(token, row.manage_token_sha256)
    ):
        raise NotFound(f"no registration {registration_id}")


# The header `holder` and `holder_or_host` read, in the description of the routes they guard.
MANAGE_TOKEN = {
    "manage_token": HeaderParameter(annotation=str | None, name="X-Manage-Token", required=False)
}


def for_holder(*handlers: ControllerRouterHandler) -> Router:
    """Routes only the holder of the registration's manage token may call (`holder`)."""
    return guarded(holder, *handlers, parameters=MANAGE_TOKEN)


def for_holder_or_host(*handlers: ControllerRouterHandler) -> Router:
    """Routes of the registration's holder or its host country's staff (`holder_or_host`)."""
    return guarded(holder_or_host, *handlers, parameters=MANAGE_TOKEN)


# --- staff pages ------------------------------------------------------------------------
# Pages refuse their caller as every service's do (shared.staff_pages); what is this
# service's own is its refusal page and how a page finds the training it is about.


def refused(message: str, status_code: int, back: str = "/staff/") -> Template:
    """The refusal page, with a link back to where the caller came from."""
    return Template(
        template_name="staff_refusal.html",
        context={"message": message, "back": back},
        status_code=status_code,
    )


# What a staff page of a training or of one of its registrations is about.
ManagedTraining = staff_pages.ManagedTraining[TrainingRow]


async def _managed(
    request: Request[Any, Any, Any], who: StaffMember, db: DB, settings: AppSettings
) -> ManagedTraining:
    """The training named by the path (its `training_id`, or the training of its
    `registration_id`) if the caller (signed in, or sent to sign in first) manages it;
    else PageRefused: an unknown one → 404, another country's → 403."""
    async with db.session() as session:
        training_id = request.path_params.get("training_id")
        if training_id is None:
            registration_id = str(request.path_params["registration_id"])
            training_id = (
                await session.exec(
                    select(RegistrationRow.training_id).where(RegistrationRow.id == registration_id)
                )
            ).first()
            if training_id is None:
                raise PageRefused(refused("No such registration.", 404))
        row = await session.get(TrainingRow, training_id)
    return managed_training(refused, "There is no such training.", who, row, db, settings)


# What a staff page's handler takes as `managed`.
Managed = NamedDependency[ManagedTraining]


def managed_pages(*handlers: Any) -> Router:
    """Staff page routes that take `managed: Managed` (the caller and their training)."""
    return staff_router(refused, *handlers, dependencies={"managed": Provide(_managed)})
