"""JSON routes of nominations: organisers name focal points and see the nominations of their
trainings; a focal point (by the token of their link) nominates and withdraws; a nominee (by
theirs) takes the place offered."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.types import ControllerRouterHandler

from services.registration import intake, nominations
from services.registration import nomination_views as views
from services.registration.api import intake_route
from services.registration.guards import host_of_training
from services.registration.jobs import Intake
from services.registration.nomination_schemas import (
    CountryNominations,
    FocalPointIn,
    FocalPointOut,
    NominationIn,
    NominationOut,
)
from services.registration.schemas import Needs, RegisteredOut, RegistrationIn
from services.registration.tables import TrainingRow
from shared import i18n
from shared.errors import NotFound
from shared.inputs import Line, Name
from shared.params import DB
from shared.problems import problems
from shared.routes import (
    Call,
    LinkCall,
    action,
    guarded,
    guarded_get,
    guarded_post,
    items,
    unguarded,
)
from shared.throttle import THROTTLE

Registrations = NamedDependency[Intake]


class NomineeIn(msgspec.Struct, forbid_unknown_fields=True):
    """The nominee's consent, and their details where they correct what was nominated."""

    consent: bool
    name: Name | None = None
    organisation: Name | None = None
    position: Line | None = None
    needs: Needs | None = None


@guarded_post(
    "/trainings/{training_id:str}/focal-points", operation_id="nameFocalPoint", status_code=201
)
async def name_focal_point(
    training_id: FromPath[str], data: JSONBody[FocalPointIn], call: Call
) -> FocalPointOut:
    """Name a national focal point of one country (organisers of the host country, the
    secretariat); they are mailed the link to their nomination page."""
    command = nominations.NameFocalPoint(training_id, data)
    return views.focal_point_out(await call.run(nominations.name_focal_point, command))


@guarded_get("/trainings/{training_id:str}/focal-points", operation_id="listFocalPoints")
async def list_focal_points(training_id: FromPath[str], db: DB) -> dict[str, list[FocalPointOut]]:
    return await items(db, views.focal_points, training_id, views.focal_point_out)


@guarded_get("/trainings/{training_id:str}/nominations", operation_id="listNominations")
async def list_nominations(training_id: FromPath[str], db: DB) -> dict[str, list[NominationOut]]:
    """Every nomination of the training, in nomination order."""
    return await items(db, views.nominations, training_id, views.nomination_out)


async def _country_view(db: Any, token: str) -> CountryNominations:
    async with db.session() as session:
        point = await views.focal_point(session, token)
        training = await session.get(TrainingRow, point.training_id) if point else None
        if point is None or training is None:
            raise NotFound("no such nomination link", field="token")
        return await views.country_nominations(session, training, point.country)


@get(
    "/focal-points/{token:str}/nominations",
    operation_id="listCountryNominations",
    responses=problems(404),
)
async def list_country_nominations(token: FromPath[str], db: DB) -> CountryNominations:
    """The focal point's country: its quota and its nominations (no other country's)."""
    return await _country_view(db, token)


@post(
    "/focal-points/{token:str}/nominations",
    operation_id="nominate",
    responses=problems(404, 409, 413, 422, 429),
    status_code=201,
    middleware=[THROTTLE],
)
async def nominate(
    token: FromPath[str], data: JSONBody[NominationIn], link_call: LinkCall
) -> NominationOut:
    """Offered a place while the country's quota has room, else waiting in nomination order."""
    row = await link_call.run(nominations.nominate, nominations.Nominate(token, data))
    return views.nomination_out(row)


@action(
    "/focal-points/{token:str}/nominations/{nomination_id:str}/withdraw",
    operation_id="withdrawNomination",
    responses=problems(404, 409, 413),
)
async def withdraw(
    token: FromPath[str], nomination_id: FromPath[str], link_call: LinkCall
) -> NominationOut:
    row = await link_call.run(nominations.withdraw, nominations.Withdraw(token, nomination_id))
    return views.nomination_out(row)


async def take_place(
    db: Any, registrations: Intake, token: str, answers: dict[str, Any]
) -> RegisteredOut:
    """The nominee's registration, through the intake like any other: confirmed, waitlisted
    or pending by the usual rules."""
    async with db.session() as session:
        row = await views.nominee(session, token)
    if row is None:
        raise NotFound("no such nomination link", field="token")
    data = msgspec.convert(
        {
            "name": answers.get("name") or row.name,
            "email": row.email,
            "organisation": answers.get("organisation") or row.organisation,
            "position": answers.get("position") or row.position,
            "country": row.country,
            "consent": answers.get("consent", False),
            "needs": answers.get("needs"),
            # The language of the page the nominee confirmed on (English from the API).
            "language": i18n.language(),
        },
        RegistrationIn,
    )
    intake.check_submission(data)
    return await registrations.submit(intake.Register(row.training_id, data, None, row.id))


@intake_route("/nominees/{token:str}/registration", operation_id="confirmNomination")
async def confirm_nomination(
    token: FromPath[str], data: JSONBody[NomineeIn], db: DB, registrations: Registrations
) -> RegisteredOut:
    """The nominee gives their consent (and corrects their details): their registration."""
    return await take_place(db, registrations, token, msgspec.to_builtins(data))


ROUTES: list[ControllerRouterHandler] = [
    guarded(host_of_training, name_focal_point, list_focal_points, list_nominations),
    unguarded(list_country_nominations, nominate, withdraw, confirm_nomination),
]
