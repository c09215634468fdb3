"""HTTP routes of the registration service (JSON), grouped by their guard; app.py mounts
them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency, Provide
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.types import ControllerRouterHandler

from services.registration import (
    attendance,
    commands,
    exports,
    intake,
    participant_links,
    privacy,
    queries,
    views,
)
from services.registration.guards import for_holder_or_host, host_of_registration, host_of_training
from services.registration.jobs import Intake
from services.registration.schemas import (
    CalendarLinkOut,
    CatalogueEntry,
    EmailIn,
    ErasureOut,
    PrivacyExport,
    Quotas,
    RegisteredOut,
    RegistrationIn,
    RegistrationList,
    RegistrationOut,
)
from shared.auth import require_secretariat, staff_of
from shared.clock import clock
from shared.commands import OneRegistration
from shared.downloads import csv_download
from shared.params import DB, Offset
from shared.problems import problems
from shared.routes import (
    Call,
    CommandCall,
    LinkCall,
    OpenCall,
    action,
    guarded,
    guarded_action,
    guarded_get,
    guarded_put,
    unguarded,
)
from shared.throttle import THROTTLE

Registrations = NamedDependency[Intake]
# A registration handed to the intake: throttled; created, or 503 while the intake is full.
intake_route = partial(
    post, responses=problems(404, 409, 413, 422, 429, 503), status_code=201, middleware=[THROTTLE]
)


# --- catalogue ----------------------------------------------------------------------


@get("/trainings", operation_id="listCatalogue", responses=problems())
async def list_catalogue(db: DB) -> dict[str, list[CatalogueEntry]]:
    """Published trainings with the seats left and whether registration is open now."""
    now = clock.now()
    async with db.session() as session:
        trainings = await queries.published_trainings(session)
        return {"items": [views.catalogue_entry(row, now) for row in trainings]}


@get("/trainings/{training_id:str}", operation_id="getCatalogueEntry", responses=problems(404))
async def get_catalogue_entry(training_id: FromPath[str], db: DB) -> CatalogueEntry:
    async with db.session() as session:
        row = await queries.training(session, training_id)
    return views.catalogue_entry(row, clock.now())


def decided(done: commands.Decided) -> RegistrationOut:
    """The answer to a command on one registration: the registration as it is now."""
    return views.registration_out(done.row, done.position, days=done.days)


def decision_route(
    path: str,
    operation_id: str,
    name: str,
    answer: type,
    act: Callable[[CommandCall, str], Awaitable[Any]],
) -> HTTPRouteHandler:
    """`POST path`: staff decide on the registration with `act` (guarded by
    `host_of_registration` where it is listed); the answer, 200, is an `answer`."""

    async def decision(registration_id: FromPath[str], call: Call) -> Any:
        return await act(call, registration_id)

    # The OpenAPI summary is made from the handler's name, the answer's schema from its
    # return annotation.
    decision.__name__ = name
    decision.__annotations__["return"] = answer
    return guarded_action(path, operation_id=operation_id)(decision)


def _decision(
    verb: str,
    command: Callable[..., Awaitable[commands.Decided]],
    input: type[OneRegistration],
) -> HTTPRouteHandler:
    """`POST /registrations/{registration_id}/{verb}`: `command` on the registration."""

    async def act(call: CommandCall, registration_id: str) -> RegistrationOut:
        return decided(await call.run(command, input(registration_id)))

    path = f"/registrations/{{registration_id:str}}/{verb}"
    return decision_route(path, f"{verb}Registration", verb, RegistrationOut, act)


# --- participants ---------------------------------------------------------------------


@intake_route("/trainings/{training_id:str}/registrations", operation_id="register")
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
    intake.check_submission(data)
    data = intake.in_language(
        data, request.app.state["settings"].languages, request.headers.get("accept-language")
    )
    # The caller is read here rather than injected: Litestar resolves two or more
    # dependencies in an anyio task group, which costs this busiest route a tenth of
    # its time (measured with bench/registration.py).
    staff = staff_of(request)
    return await registrations.submit(intake.Register(training_id, data, staff))


@guarded_get("/registrations/{registration_id:str}", operation_id="getRegistration")
async def get_registration(registration_id: FromPath[str], db: DB) -> RegistrationOut:
    """The participant (X-Manage-Token) or staff of the host country."""
    async with db.session() as session:
        row = await queries.get_registration(session, registration_id)
        position = await queries.waitlist_position(session, row)
        days = await attendance.days_of(session, row.id)
    return views.registration_out(row, position, days=days)


@guarded_action("/registrations/{registration_id:str}/cancel", operation_id="cancelRegistration")
async def cancel_registration(
    registration_id: FromPath[str], open_call: OpenCall
) -> RegistrationOut:
    """Cancel (participant or staff); a freed seat goes to the first on the waitlist."""
    cancel = commands.CancelRegistration(registration_id)
    return decided(await open_call.run(commands.cancel, cancel))


@action(
    "/registrations/{registration_id:str}/calendar-link",
    operation_id="renewCalendarLink",
    responses=problems(403, 404),
)
async def renew_calendar_link(
    registration_id: FromPath[str], open_call: OpenCall
) -> CalendarLinkOut:
    """A new personal calendar link; the old one stops working."""
    renew = participant_links.RenewCalendarLink(registration_id)
    url = await open_call.run(participant_links.renew_calendar_link, renew)
    return CalendarLinkOut(calendar_url=url)


LINKS_SENT = "If this address holds a registration, its links are on their way to it."


@post(
    "/manage-link",
    operation_id="mailManageLink",
    responses=problems(413, 422, 429),
    status_code=202,
    middleware=[THROTTLE],
)
async def mail_manage_link(
    data: JSONBody[EmailIn], link_call: LinkCall
) -> Response[dict[str, str]]:
    """Mail the links again; the answer is the same whether or not the address is known."""
    # The work happens after the answer, so its time tells nothing about the address;
    # `execute` logs a failure, since no caller is left to see it.
    mail = BackgroundTask(link_call.run, participant_links.mail_links, data.email)
    return Response({"detail": LINKS_SENT}, status_code=202, background=mail)


# --- staff ----------------------------------------------------------------------------


Limit = Annotated[int, QueryParameter(ge=1, le=10_000)]
Text = Annotated[str | None, QueryParameter(max_length=200)]
CountryFilter = Annotated[str | None, QueryParameter(min_length=2, max_length=2)]
CheckedInFilter = Annotated[bool | None, QueryParameter(name="checked_in")]
Filters = NamedDependency[queries.Filters]


def provide_filters(
    status: Text = None,
    country: CountryFilter = None,
    checked_in: CheckedInFilter = None,
    q: Text = None,
) -> queries.Filters:
    """The filters of a registration list: `status` (comma-separated), `country`,
    `checked_in`, `q` (name, e-mail or organisation contains)."""
    return queries.Filters(status, country, checked_in, q)


FILTERED = {"filters": Provide(provide_filters, sync_to_thread=False)}


async def _registrations(
    db: Any, training_id: str, filters: queries.Filters, limit: int, offset: int
) -> tuple[list[RegistrationOut], int]:
    async with db.session() as session:
        found, total = await queries.registrations(session, training_id, filters, limit, offset)
    return [
        views.registration_out(row, position, days=days) for row, position, days in found
    ], total


@get(
    "/trainings/{training_id:str}/registrations",
    operation_id="listRegistrations",
    responses=problems(403, 404, 422),
    dependencies=FILTERED,
)
async def list_registrations(
    training_id: FromPath[str],
    db: DB,
    filters: Filters,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> RegistrationList:
    """A training's registrations in arrival order, filtered (`provide_filters`)."""
    items, total = await _registrations(db, training_id, filters, limit, offset)
    return RegistrationList(items=items, total=total, limit=limit, offset=offset)


@get(
    "/trainings/{training_id:str}/registrations.csv",
    operation_id="exportRegistrations",
    responses=problems(403, 404, 422),
    media_type="text/csv",
    dependencies=FILTERED,
)
async def export_registrations(
    training_id: FromPath[str], db: DB, filters: Filters
) -> Response[bytes]:
    """The same list as CSV, with a header row; the same filters."""
    items, _ = await _registrations(db, training_id, filters, limit=100_000, offset=0)
    content = await exports.registrations_csv_off_loop(items)
    return csv_download(content, f"registrations-{training_id}.csv")


# Pending → confirmed while seats (and the country's quota) allow, else waitlisted.
approve = _decision("approve", commands.approve, commands.ApproveRegistration)
# Decline an active registration; a seat it held goes to the waitlist at once.
decline = _decision("decline", commands.decline, commands.DeclineRegistration)


@guarded_get("/trainings/{training_id:str}/quotas", operation_id="getQuotas")
async def get_quotas(training_id: FromPath[str], db: DB) -> dict[str, int]:
    async with db.session() as session:
        return await queries.quotas_of(session, training_id)


@guarded_put("/trainings/{training_id:str}/quotas", operation_id="setQuotas")
async def set_quotas(
    training_id: FromPath[str], data: JSONBody[Quotas], call: Call
) -> dict[str, int]:
    """Replace the training's quotas: `{country: maximum confirmed seats}`; `{}` removes them."""
    return await call.run(commands.set_quotas, commands.SetQuotas(training_id, data))


# --- privacy --------------------------------------------------------------------------


@action("/privacy/export", operation_id="exportPersonalData", responses=problems(403, 413, 422))
async def export_personal_data(data: JSONBody[EmailIn], call: Call) -> PrivacyExport:
    """Everything held about one person (secretariat)."""
    return await call.run(privacy.export_for_staff, data.email)


@action("/privacy/erase", operation_id="erasePersonalData", responses=problems(403, 409, 413, 422))
async def erase_personal_data(data: JSONBody[EmailIn], call: Call) -> ErasureOut:
    """Erase one person's data (secretariat); seats they held go to the waitlist."""
    return await call.run(privacy.erase, data.email)


# In the order the API reference lists them (so a guard may head two groups).
ROUTES: list[ControllerRouterHandler] = [
    register,
    unguarded(mail_manage_link),
    list_catalogue,
    get_catalogue_entry,
    for_holder_or_host(get_registration, cancel_registration, renew_calendar_link),
    guarded(host_of_training, list_registrations, export_registrations),
    guarded(host_of_registration, approve, decline),
    guarded(host_of_training, get_quotas, set_quotas),
    guarded(require_secretariat, export_personal_data, erase_personal_data),
]
