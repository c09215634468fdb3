"""Who may act on a training or a registration, decided before any body is read."""

from __future__ import annotations

from typing import Any

from litestar import Router
from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import Parameter
from litestar.types import ControllerRouterHandler
from sqlmodel.ext.asyncio.session import AsyncSession

from services.registration import queries
from shared import tokens
from shared.auth import host_country_guard, staff_of
from shared.errors import NotFound
from shared.routes import guarded
from shared.staff import Staff


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
MANAGE_TOKEN = {"manage_token": Parameter(str | None, header="X-Manage-Token", required=False)}


def for_holder(*handlers: ControllerRouterHandler) -> Router:
    """Routes only the holder of the registration's manage token may call (`holder`)."""
    return guarded(holder, *handlers, parameters=MANAGE_TOKEN)


def for_holder_or_host(*handlers: ControllerRouterHandler) -> Router:
    """Routes of the registration's holder or its host country's staff (`holder_or_host`)."""
    return guarded(holder_or_host, *handlers, parameters=MANAGE_TOKEN)
