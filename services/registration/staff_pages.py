"""Staff pages of registration: the trainings a person manages and a training's registrations
(search, filters, decisions, quotas, walk-ins, a message to all); check-in at the door is in
door_pages.py.

Every page and action of a training checks the caller on the server, before it runs
(guards.managed_pages): no session → scheduling's sign-in page; another country's
training → 403; an unknown one → 404. Forms carry the CSRF token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.params import FromPath, QueryParameter, URLEncodedBody
from litestar.response import Redirect, Template

from services.registration import attendance, commands, domain, intake, queries, views
from services.registration.guards import Managed, ManagedTraining, managed_pages, refused
from services.registration.pages import Registrations, read_form
from services.registration.tables import TrainingRow
from shared.auth import Staff
from shared.clock import clock
from shared.commands import execute
from shared.countries import all_countries
from shared.errors import DomainError, Invalid
from shared.params import DB, Offset, StaffMember
from shared.problems import status_of
from shared.staff_pages import staff_router

Text = Annotated[str | None, QueryParameter(max_length=200)]
PAGE = 100
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


def back_with(path: str, done: str, **query: str | None) -> Redirect:
    kept = {key: value for key, value in query.items() if value}
    return Redirect(path=f"{path}?{urlencode({**kept, 'done': done})}", status_code=303)


async def act(
    managed: ManagedTraining, command: Any, input: Any, back: str, done: str, **query: str | None
) -> Response[Any]:
    """Run a staff command from a page: back to `back` noting what was `done`, or the
    refusal shown with a link back there."""
    try:
        await execute(managed.db, command, managed.settings, managed.staff, input)
    except DomainError as refusal:
        return refused(refusal.message, status_of(refusal), back)
    return back_with(back, done, **query)


def _back_to(training_id: str, form: dict[str, str]) -> str:
    """Where an action returns: the page (list or door) and view it was taken from."""
    page = "check-in" if form.get("from") == "check-in" else ""
    return f"/staff/trainings/{training_id}" + (f"/{page}" if page else "")


async def summary_of(db: Any, row: TrainingRow) -> views.StaffTraining:
    async with db.session() as session:
        counts = await queries.status_counts(session, [row.id])
        attended = await attendance.per_day(session, [row.id])
    return views.staff_training(row, counts[row.id], clock.now(), attended[row.id])


@get("/staff/", operation_id="registrationStaffHome")
async def staff_home(who: StaffMember, db: DB) -> Template:
    """The trainings the caller manages with their confirmed, waitlisted and pending counts."""
    now = clock.now()
    async with db.session() as session:
        rows = await queries.managed_trainings(session, who)
        counts = await queries.status_counts(session, [row.id for row in rows])
        attended = await attendance.per_day(session, [row.id for row in rows])
    trainings = [views.staff_training(row, counts[row.id], now, attended[row.id]) for row in rows]
    return Template(template_name="staff_home.html", context={"trainings": trainings, "staff": who})


# Where each form field of the training page is, for the error summary's links.
FIELD_IDS = {
    "name": "w-name",
    "email": "w-email",
    "organisation": "w-organisation",
    "position": "w-position",
    "country": "w-country",
    "consent": "w-consent",
    "quotas": "quotas",
}
# The fields of each form that can be refused; any other refusal is the form's own.
FORM_FIELDS = {
    "walk_in": frozenset(("name", "email", "organisation", "position", "country", "consent")),
    "quotas": frozenset(("quotas",)),
}


async def _training_page(
    db: Any,
    row: TrainingRow,
    query: dict[str, str | None],
    offset: int = 0,
    done: str | None = None,
    *,
    walk_in: dict[str, str] | None = None,
    quotas_text: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    """The training's page; after a refused walk-in or quota form, with what was typed and
    each error beside its field, summarised at the top."""
    status = query.get("status") if query.get("status") in domain.STATUSES else None
    country = (query.get("country") or "").strip().upper()[:2] or None
    query = {"q": query.get("q"), "status": status, "country": country}
    filters = queries.Filters(status=status, country=country, q=query["q"])
    async with db.session() as session:
        listed, total = await queries.registrations(session, row.id, filters, PAGE, offset)
        quotas = await queries.quotas_of(session, row.id)
    errors = errors or {}
    return Template(
        template_name="staff_training.html",
        status_code=status_code,
        context={
            "summary": await summary_of(db, row),
            "items": [
                views.registration_out(r, position, days=days) for r, position, days in listed
            ],
            "total": total,
            "offset": offset,
            "page": PAGE,
            "query": {key: value or "" for key, value in query.items()},
            "more": urlencode({k: v for k, v in query.items() if v} | {"offset": offset + PAGE}),
            "quotas": quotas_text
            if quotas_text is not None
            else "\n".join(f"{code} {maximum}" for code, maximum in quotas.items()),
            "countries": [(c.code, c.name) for c in all_countries()],
            "statuses": domain.STATUSES,
            "notice": NOTICES.get(done or ""),
            "walk_in": walk_in or {},
            "errors": errors,
            "error_links": [
                (FIELD_IDS.get(name, "walk-in"), text) for name, text in errors.items()
            ],
        },
    )


@get("/staff/trainings/{training_id:str}", operation_id="registrationStaffTraining")
async def staff_training(
    managed: Managed,
    q: Text = None,
    status: Text = None,
    country: Text = None,
    offset: Offset = 0,
    done: Text = None,
) -> Template | Redirect:
    """A training's registrations: search, filters, the waitlist and pending views."""
    query = {"q": q, "status": status, "country": country}
    return await _training_page(managed.db, managed.training, query, offset, done)


async def _decide(
    managed: ManagedTraining, registration_id: str, form: dict[str, str], verb: str
) -> Response[Any]:
    command, make = (
        (commands.approve, commands.ApproveRegistration)
        if verb == "approve"
        else (commands.decline, commands.DeclineRegistration)
    )
    decision = make(registration_id, form.get("message"))
    back = _back_to(managed.training.id, form)
    return await act(managed, command, decision, back, f"{verb}d", status=form.get("status"))


@post("/staff/registrations/{registration_id:str}/approve", operation_id="approveByPage")
async def approve_by_page(
    registration_id: FromPath[str], data: URLEncodedBody[dict[str, str]], managed: Managed
) -> Response[Any]:
    return await _decide(managed, registration_id, data, "approve")


@post("/staff/registrations/{registration_id:str}/decline", operation_id="declineByPage")
async def decline_by_page(
    registration_id: FromPath[str], data: URLEncodedBody[dict[str, str]], managed: Managed
) -> Response[Any]:
    return await _decide(managed, registration_id, data, "decline")


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
    managed: ManagedTraining,
    done: str,
    act: Callable[[Staff], Awaitable[object]],
    form: dict[str, str] | None = None,
) -> Response[Any]:
    """Do `act` on a training the caller manages; back to its page saying what was done.

    A refusal of a form (`form`: "walk_in" or "quotas" beside what was typed) shows the
    page again with the error beside its field; other refusals get the refusal page."""
    back = f"/staff/trainings/{managed.training.id}"
    try:
        await act(managed.staff)
    except FormRefused as refusal:
        return await _refused_form(managed, form or {}, refusal.errors, 422)
    except DomainError as refusal:
        if form is None:
            return refused(refusal.message, status_of(refusal), back)
        which = form["form"]
        field = refusal.field if refusal.field in FORM_FIELDS[which] else which
        return await _refused_form(managed, form, {field: refusal.message}, status_of(refusal))
    return back_with(back, done)


class FormRefused(Exception):
    """Several fields of a form were refused at once (field → message)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(" ".join(errors.values()))
        self.errors = errors


async def _refused_form(
    managed: ManagedTraining, form: dict[str, str], errors: dict[str, str], status_code: int
) -> Template:
    which = form.get("form")
    return await _training_page(
        managed.db,
        managed.training,
        {},
        walk_in=form if which == "walk_in" else None,
        quotas_text=form.get("quotas") if which == "quotas" else None,
        errors=errors,
        status_code=status_code,
    )


@post("/staff/trainings/{training_id:str}/quotas", operation_id="setQuotasByPage")
async def quotas_by_page(
    training_id: FromPath[str], data: URLEncodedBody[dict[str, str]], managed: Managed
) -> Response[Any]:
    async def set_quotas(staff: Staff) -> None:
        quotas = commands.SetQuotas(training_id, read_quotas(data.get("quotas") or ""))
        await execute(managed.db, commands.set_quotas, managed.settings, staff, quotas)

    form = {**data, "form": "quotas"}
    return await _on_training(managed, "quotas", set_quotas, form)


@post("/staff/trainings/{training_id:str}/walk-in", operation_id="registerWalkInByPage")
async def walk_in_by_page(
    training_id: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
    registrations: Registrations,
    managed: Managed,
) -> Response[Any]:
    """Staff register someone themselves, outside the window too (no approval needed)."""

    async def register(staff: Staff) -> None:
        registration, errors = read_form(data)
        if registration is None:
            raise FormRefused(errors)
        intake.check_submission(registration)
        await registrations.submit(intake.Register(training_id, registration, staff))

    form = {**data, "form": "walk_in"}
    return await _on_training(managed, "walk_in", register, form)


@post("/staff/trainings/{training_id:str}/message", operation_id="messageConfirmedByPage")
async def message_by_page(
    training_id: FromPath[str], data: URLEncodedBody[dict[str, str]], managed: Managed
) -> Response[Any]:
    """A message to every confirmed participant, queued like every mail."""
    message = commands.MessageConfirmed(
        training_id, data.get("subject") or "", data.get("message") or ""
    )

    async def send(staff: Staff) -> None:
        await execute(managed.db, commands.message_confirmed, managed.settings, staff, message)

    return await _on_training(managed, "messaged", send)


ROUTES: list[Any] = [
    staff_router(refused, staff_home),
    managed_pages(
        staff_training,
        approve_by_page,
        decline_by_page,
        quotas_by_page,
        walk_in_by_page,
        message_by_page,
    ),
]
