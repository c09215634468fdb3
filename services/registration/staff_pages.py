"""Staff pages of registration: the trainings a person manages, a training's registrations
(search, filters, decisions, quotas, walk-ins, a message to all) and check-in at the door.

Every page and action checks the caller here, on the server: no session → scheduling's
sign-in page;
another country's training → 403; an unknown one → 404. Forms carry the CSRF token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter, URLEncodedBody
from litestar.response import Redirect, Template
from sqlmodel import select

from services.registration import commands, domain, intake, queries, views
from services.registration.jobs import Intake
from services.registration.pages import read_form
from services.registration.tables import RegistrationRow, TrainingRow
from shared.auth import Staff, check_host, sign_in_again, staff_or_none
from shared.clock import clock
from shared.commands import execute
from shared.countries import all_countries
from shared.errors import DomainError, Forbidden, Invalid
from shared.params import DB, AppSettings, Offset
from shared.problems import status_of

Registrations = NamedDependency[Intake]
Text = Annotated[str | None, QueryParameter(max_length=200)]
PAGE = 100
DOOR_PAGE = 30
NOTICES = {
    "approved": "Approved; the participant is mailed.",
    "declined": "Declined; the participant is mailed.",
    "quotas": "Quotas saved; seats they free went to the waitlist.",
    "walk_in": "Registered.",
    "messaged": "Your message is queued for every confirmed participant.",
    "checked_in": "Checked in.",
    "undone": "Check-in undone.",
}
Request_ = Request[Any, Any, Any]


def refused(message: str, status_code: int, back: str = "/staff/") -> Template:
    return Template(
        template_name="staff_refusal.html",
        context={"message": message, "back": back},
        status_code=status_code,
    )


async def _managed(request: Request_, db: Any, training_id: str) -> Any:
    """(staff, training row) for a caller who manages it, else the answer to give instead."""
    staff = staff_or_none(request)
    if staff is None:
        return sign_in_again(request)
    async with db.session() as session:
        row = await session.get(TrainingRow, training_id)
    if row is None:
        return refused("There is no such training.", 404)
    try:
        check_host(staff, row.host_country)
    except Forbidden:
        return refused("Your sign-in does not cover this training's host country.", 403)
    return staff, row


async def _of_registration(request: Request_, db: Any, registration_id: str) -> Any:
    """(staff, training row) of a registration the caller may act on, or the refusal."""
    async with db.session() as session:
        training_id = (
            await session.exec(
                select(RegistrationRow.training_id).where(RegistrationRow.id == registration_id)
            )
        ).first()
    if training_id is None:
        staff = staff_or_none(request)
        return sign_in_again(request) if staff is None else refused("No such registration.", 404)
    return await _managed(request, db, training_id)


def _after(path: str, done: str, **query: str | None) -> Redirect:
    kept = {key: value for key, value in query.items() if value}
    return Redirect(path=f"{path}?{urlencode({**kept, 'done': done})}", status_code=303)


def _back_to(training_id: str, form: dict[str, str]) -> str:
    """Where an action returns: the page (list or door) and view it was taken from."""
    page = "check-in" if form.get("from") == "check-in" else ""
    return f"/staff/trainings/{training_id}" + (f"/{page}" if page else "")


async def _summary(db: Any, row: TrainingRow) -> views.StaffTraining:
    async with db.session() as session:
        counts = await queries.status_counts(session, [row.id])
    return views.staff_training(row, counts[row.id], clock.now())


@get("/staff/", operation_id="registrationStaffHome")
async def staff_home(request: Request_, db: DB) -> Template | Redirect:
    """The trainings the caller manages with their confirmed, waitlisted and pending counts."""
    staff = staff_or_none(request)
    if staff is None:
        return sign_in_again(request)
    now = clock.now()
    async with db.session() as session:
        rows = await queries.managed_trainings(session, staff)
        counts = await queries.status_counts(session, [row.id for row in rows])
    trainings = [views.staff_training(row, counts[row.id], now) for row in rows]
    return Template(
        template_name="staff_home.html", context={"trainings": trainings, "staff": staff}
    )


@get("/staff/trainings/{training_id:str}", operation_id="registrationStaffTraining")
async def staff_training(
    training_id: FromPath[str],
    request: Request_,
    db: DB,
    q: Text = None,
    status: Text = None,
    country: Text = None,
    offset: Offset = 0,
    done: Text = None,
) -> Template | Redirect:
    """A training's registrations: search, filters, the waitlist and pending views."""
    found = await _managed(request, db, training_id)
    if not isinstance(found, tuple):
        return found
    _, row = found
    status = status if status in domain.STATUSES else None
    country = (country or "").strip().upper()[:2] or None
    filters = queries.Filters(status=status, country=country, q=q)
    async with db.session() as session:
        listed, total = await queries.registrations(session, training_id, filters, PAGE, offset)
        quotas = await queries.quotas_of(session, training_id)
    query = {"q": q, "status": status, "country": country}
    return Template(
        template_name="staff_training.html",
        context={
            "summary": await _summary(db, row),
            "items": [views.registration_out(r, position) for r, position in listed],
            "total": total,
            "offset": offset,
            "page": PAGE,
            "query": {key: value or "" for key, value in query.items()},
            "more": urlencode({k: v for k, v in query.items() if v} | {"offset": offset + PAGE}),
            "quotas": "\n".join(f"{code} {maximum}" for code, maximum in quotas.items()),
            "countries": [(c.code, c.name) for c in all_countries()],
            "statuses": domain.STATUSES,
            "notice": NOTICES.get(done or ""),
        },
    )


async def _decide(
    request: Request_, db: Any, settings: Any, registration_id: str, form: dict[str, str], verb: str
) -> Response[Any]:
    found = await _of_registration(request, db, registration_id)
    if not isinstance(found, tuple):
        return found
    staff, row = found
    back = _back_to(row.id, form)
    command, make = (
        (commands.approve, commands.ApproveRegistration)
        if verb == "approve"
        else (commands.decline, commands.DeclineRegistration)
    )
    try:
        await execute(db, command, settings, staff, make(registration_id, form.get("message")))
    except DomainError as refusal:
        return refused(refusal.message, status_of(refusal), back)
    return _after(back, f"{verb}d", status=form.get("status"))


@post("/staff/registrations/{registration_id:str}/approve", operation_id="approveByPage")
async def approve_by_page(
    registration_id: FromPath[str],
    request: Request_,
    data: URLEncodedBody[dict[str, str]],
    db: DB,
    settings: AppSettings,
) -> Response[Any]:
    return await _decide(request, db, settings, registration_id, data, "approve")


@post("/staff/registrations/{registration_id:str}/decline", operation_id="declineByPage")
async def decline_by_page(
    registration_id: FromPath[str],
    request: Request_,
    data: URLEncodedBody[dict[str, str]],
    db: DB,
    settings: AppSettings,
) -> Response[Any]:
    return await _decide(request, db, settings, registration_id, data, "decline")


def read_quotas(text: str) -> dict[str, int]:
    """`EE 3` or `EE=3`, one a line or separated by commas."""
    quotas: dict[str, int] = {}
    for entry in text.replace(",", "\n").splitlines():
        parts = entry.replace("=", " ").replace(":", " ").split()
        if not parts:
            continue
        if len(parts) != 2 or not parts[1].isdigit():
            raise Invalid(f"{entry.strip()!r}: write a country code and a number")
        quotas[parts[0].upper()] = int(parts[1])
    return quotas


async def _on_training(
    request: Request_,
    db: Any,
    training_id: str,
    done: str,
    act: Callable[[Staff], Awaitable[object]],
) -> Response[Any]:
    """Do `act` on a training the caller manages; the refusal, or back to its page saying
    what was done."""
    found = await _managed(request, db, training_id)
    if not isinstance(found, tuple):
        return found
    staff, _ = found
    back = f"/staff/trainings/{training_id}"
    try:
        await act(staff)
    except DomainError as refusal:
        return refused(refusal.message, status_of(refusal), back)
    return _after(back, done)


@post("/staff/trainings/{training_id:str}/quotas", operation_id="setQuotasByPage")
async def quotas_by_page(
    training_id: FromPath[str],
    request: Request_,
    data: URLEncodedBody[dict[str, str]],
    db: DB,
    settings: AppSettings,
) -> Response[Any]:
    async def set_quotas(staff: Staff) -> None:
        quotas = commands.SetQuotas(training_id, read_quotas(data.get("quotas") or ""))
        await execute(db, commands.set_quotas, settings, staff, quotas)

    return await _on_training(request, db, training_id, "quotas", set_quotas)


@post("/staff/trainings/{training_id:str}/walk-in", operation_id="registerWalkInByPage")
async def walk_in_by_page(
    training_id: FromPath[str],
    request: Request_,
    data: URLEncodedBody[dict[str, str]],
    db: DB,
    registrations: Registrations,
) -> Response[Any]:
    """Staff register someone themselves, outside the window too (no approval needed)."""

    async def register(staff: Staff) -> None:
        registration, errors = read_form(data)
        if registration is None:
            raise Invalid(" ".join(errors.values()))
        intake.check_submission(registration)
        await registrations.submit(intake.Register(training_id, registration, staff))

    return await _on_training(request, db, training_id, "walk_in", register)


@post("/staff/trainings/{training_id:str}/message", operation_id="messageConfirmedByPage")
async def message_by_page(
    training_id: FromPath[str],
    request: Request_,
    data: URLEncodedBody[dict[str, str]],
    db: DB,
    settings: AppSettings,
) -> Response[Any]:
    """A message to every confirmed participant, queued like every mail."""
    message = commands.MessageConfirmed(
        training_id, data.get("subject") or "", data.get("message") or ""
    )

    async def send(staff: Staff) -> None:
        await execute(db, commands.message_confirmed, settings, staff, message)

    return await _on_training(request, db, training_id, "messaged", send)


# --- at the door ----------------------------------------------------------------------------


# Search as you type at the door, as progressive enhancement (the CSP allows no inline script).
CHECK_IN_SCRIPT = (Path(__file__).parent / "static" / "check_in.js").read_bytes()


@get("/staff/check-in.js", operation_id="checkInScript")
async def check_in_script() -> Response[bytes]:
    return Response(
        CHECK_IN_SCRIPT,
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@get("/staff/trainings/{training_id:str}/check-in", operation_id="checkInPage")
async def check_in_page(
    training_id: FromPath[str], request: Request_, db: DB, q: Text = None, done: Text = None
) -> Template | Redirect:
    """Find a confirmed participant by name, organisation or country; one tap checks in."""
    found = await _managed(request, db, training_id)
    if not isinstance(found, tuple):
        return found
    _, row = found
    filters = queries.Filters(status="confirmed", q=q)
    async with db.session() as session:
        listed, total = await queries.registrations(session, training_id, filters, DOOR_PAGE, 0)
    return Template(
        template_name="staff_check_in.html",
        context={
            "summary": await _summary(db, row),
            "items": [views.registration_out(r, position) for r, position in listed],
            "total": total,
            "q": q or "",
            "notice": NOTICES.get(done or ""),
        },
    )


async def _door(
    request: Request_,
    db: Any,
    settings: Any,
    registration_id: str,
    form: dict[str, str],
    undo: bool,
) -> Response[Any]:
    found = await _of_registration(request, db, registration_id)
    if not isinstance(found, tuple):
        return found
    staff, row = found
    back = f"/staff/trainings/{row.id}/check-in"
    command: Any = commands.undo_check_in if undo else commands.check_in
    make: Any = commands.UndoCheckIn if undo else commands.CheckIn
    try:
        await execute(db, command, settings, staff, make(registration_id))
    except DomainError as refusal:
        return refused(refusal.message, status_of(refusal), back)
    return _after(back, "undone" if undo else "checked_in", q=form.get("q"))


@post("/staff/registrations/{registration_id:str}/check-in", operation_id="checkInByPage")
async def check_in_by_page(
    registration_id: FromPath[str],
    request: Request_,
    data: URLEncodedBody[dict[str, str]],
    db: DB,
    settings: AppSettings,
) -> Response[Any]:
    return await _door(request, db, settings, registration_id, data, undo=False)


@post("/staff/registrations/{registration_id:str}/undo-check-in", operation_id="undoCheckInByPage")
async def undo_check_in_by_page(
    registration_id: FromPath[str],
    request: Request_,
    data: URLEncodedBody[dict[str, str]],
    db: DB,
    settings: AppSettings,
) -> Response[Any]:
    return await _door(request, db, settings, registration_id, data, undo=True)


ROUTES = [
    staff_home,
    staff_training,
    approve_by_page,
    decline_by_page,
    quotas_by_page,
    walk_in_by_page,
    message_by_page,
    check_in_page,
    check_in_script,
    check_in_by_page,
    undo_check_in_by_page,
]
