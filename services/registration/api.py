"""HTTP routes of the registration service (JSON); app.py groups them into routers."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post, put
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

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
from services.registration.guards import holder_or_host, host_of_registration, host_of_training
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
from shared.commands import execute
from shared.downloads import csv_download
from shared.params import DB, AppSettings, Caller, ManageToken, Offset, StaffMember
from shared.problems import problems
from shared.throttle import THROTTLE

Registrations = NamedDependency[Intake]


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


async def decide(
    db: Any, command: Any, settings: Any, who: Any, input: commands.OneRegistration
) -> RegistrationOut:
    """Run a command on one registration and answer with the registration as it is now."""
    done: commands.Decided = await execute(db, command, settings, who, input)
    return views.registration_out(done.row, done.position, days=done.days)


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
    intake.check_submission(data)
    data = intake.in_language(
        data, request.app.state["settings"].languages, request.headers.get("accept-language")
    )
    # The caller is read here rather than injected: Litestar resolves two or more
    # dependencies in an anyio task group, which costs this busiest route a tenth of
    # its time (measured with bench/registration.py).
    staff = staff_of(request)
    return await registrations.submit(intake.Register(training_id, data, staff))


@get(
    "/registrations/{registration_id:str}",
    operation_id="getRegistration",
    responses=problems(403, 404),
    guards=[holder_or_host],
)
async def get_registration(
    registration_id: FromPath[str], db: DB, manage_token: ManageToken = None
) -> RegistrationOut:
    """The participant (X-Manage-Token) or staff of the host country."""
    async with db.session() as session:
        row = await queries.get_registration(session, registration_id)
        position = await queries.waitlist_position(session, row)
        days = await attendance.days_of(session, row.id)
    return views.registration_out(row, position, days=days)


@post(
    "/registrations/{registration_id:str}/cancel",
    operation_id="cancelRegistration",
    responses=problems(403, 404, 409),
    status_code=200,
    guards=[holder_or_host],
)
async def cancel_registration(
    registration_id: FromPath[str],
    db: DB,
    settings: AppSettings,
    staff: Caller,
    manage_token: ManageToken = None,
) -> RegistrationOut:
    """Cancel (participant or staff); a freed seat goes to the first on the waitlist."""
    return await decide(
        db, commands.cancel, settings, staff, commands.CancelRegistration(registration_id)
    )


@post(
    "/registrations/{registration_id:str}/calendar-link",
    operation_id="renewCalendarLink",
    responses=problems(403, 404),
    status_code=200,
    guards=[holder_or_host],
)
async def renew_calendar_link(
    registration_id: FromPath[str],
    db: DB,
    settings: AppSettings,
    staff: Caller,
    manage_token: ManageToken = None,
) -> CalendarLinkOut:
    """A new personal calendar link; the old one stops working."""
    url = await execute(
        db,
        participant_links.renew_calendar_link,
        settings,
        staff,
        participant_links.RenewCalendarLink(registration_id),
    )
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
    data: JSONBody[EmailIn], db: DB, settings: AppSettings
) -> Response[dict[str, str]]:
    """Mail the links again; the answer is the same whether or not the address is known."""
    # The work happens after the answer, so its time tells nothing about the address;
    # `execute` logs a failure, since no caller is left to see it.
    return Response(
        {"detail": LINKS_SENT},
        status_code=202,
        background=BackgroundTask(
            execute, db, participant_links.mail_links, settings, None, data.email
        ),
    )


# --- staff ----------------------------------------------------------------------------


Limit = Annotated[int, QueryParameter(ge=1, le=10_000)]
Text = Annotated[str | None, QueryParameter(max_length=200)]
CountryFilter = Annotated[str | None, QueryParameter(min_length=2, max_length=2)]
CheckedInFilter = Annotated[bool | None, QueryParameter(name="checked_in")]


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
    filters = queries.Filters(status, country, checked_in, q)
    items, total = await _registrations(db, training_id, filters, limit, offset)
    return RegistrationList(items=items, total=total, limit=limit, offset=offset)


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
    filters = queries.Filters(status, country, checked_in, q)
    items, _ = await _registrations(db, training_id, filters, limit=100_000, offset=0)
    content = await exports.registrations_csv_off_loop(items)
    return csv_download(content, f"registrations-{training_id}.csv")


@post(
    "/registrations/{registration_id:str}/approve",
    operation_id="approveRegistration",
    responses=problems(403, 404, 409),
    status_code=200,
    guards=[host_of_registration],
)
async def approve(
    registration_id: FromPath[str], db: DB, settings: AppSettings, who: StaffMember
) -> RegistrationOut:
    """Pending → confirmed while seats (and the country's quota) allow, else waitlisted."""
    return await decide(
        db, commands.approve, settings, who, commands.ApproveRegistration(registration_id)
    )


@post(
    "/registrations/{registration_id:str}/decline",
    operation_id="declineRegistration",
    responses=problems(403, 404, 409),
    status_code=200,
    guards=[host_of_registration],
)
async def decline(
    registration_id: FromPath[str], db: DB, settings: AppSettings, who: StaffMember
) -> RegistrationOut:
    """Decline an active registration; a seat it held goes to the waitlist at once."""
    return await decide(
        db, commands.decline, settings, who, commands.DeclineRegistration(registration_id)
    )


@get(
    "/trainings/{training_id:str}/quotas",
    operation_id="getQuotas",
    responses=problems(403, 404),
    guards=[host_of_training],
)
async def get_quotas(training_id: FromPath[str], db: DB) -> dict[str, int]:
    async with db.session() as session:
        return await queries.quotas_of(session, training_id)


@put(
    "/trainings/{training_id:str}/quotas",
    operation_id="setQuotas",
    responses=problems(403, 404, 409, 413, 422),
    guards=[host_of_training],
)
async def set_quotas(
    training_id: FromPath[str],
    data: JSONBody[Quotas],
    db: DB,
    settings: AppSettings,
    who: StaffMember,
) -> dict[str, int]:
    """Replace the training's quotas: `{country: maximum confirmed seats}`; `{}` removes them."""
    return await execute(
        db, commands.set_quotas, settings, who, commands.SetQuotas(training_id, data)
    )


# --- privacy --------------------------------------------------------------------------


@post(
    "/privacy/export",
    operation_id="exportPersonalData",
    responses=problems(403, 413, 422),
    status_code=200,
    guards=[require_secretariat],
)
async def export_personal_data(
    data: JSONBody[EmailIn], db: DB, settings: AppSettings, who: StaffMember
) -> PrivacyExport:
    """Everything held about one person (secretariat)."""
    return await execute(db, privacy.export_for_staff, settings, who, data.email)


@post(
    "/privacy/erase",
    operation_id="erasePersonalData",
    responses=problems(403, 409, 413, 422),
    status_code=200,
    guards=[require_secretariat],
)
async def erase_personal_data(
    data: JSONBody[EmailIn], db: DB, settings: AppSettings, who: StaffMember
) -> ErasureOut:
    """Erase one person's data (secretariat); seats they held go to the waitlist."""
    return await execute(db, privacy.erase, settings, who, data.email)


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
    get_quotas,
    set_quotas,
    export_personal_data,
    erase_personal_data,
]
