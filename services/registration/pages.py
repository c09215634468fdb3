"""HTML pages for participants: catalogue, registration form, confirmation, manage page.

Forms are protected by Litestar's CSRF middleware; errors are shown next to their field.
"""

from __future__ import annotations

import contextlib
from typing import Any

import msgspec
from litestar import Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from services.registration import commands, intake, participant_links, queries, views
from services.registration.jobs import Intake
from services.registration.schemas import RegistrationIn
from services.registration.tables import TrainingRow
from shared import inputs
from shared.clock import clock
from shared.commands import execute
from shared.countries import all_countries, is_country
from shared.errors import DomainError
from shared.params import DB, AppSettings, Caller
from shared.problems import status_of
from shared.throttle import THROTTLE

Registrations = NamedDependency[Intake]

STATUS_WORDS = {
    "confirmed": "Confirmed: your seat is reserved",
    "waitlisted": "On the waiting list",
    "pending": "Received: the organisers will decide soon",
    "declined": "Declined",
    "cancelled": "Cancelled",
}


def _countries() -> list[tuple[str, str]]:
    return [(country.code, country.name) for country in all_countries()]


@get("/", operation_id="cataloguePage")
async def catalogue_page(db: DB) -> Template:
    now = clock.now()
    async with db.session() as session:
        rows = await queries.published_trainings(session)
        trainings = [views.catalogue_entry(row, now) for row in rows]
    return Template(template_name="catalogue.html", context={"trainings": trainings})


async def _training(db: Any, training_id: str) -> TrainingRow | None:
    async with db.session() as session:
        return await session.get(TrainingRow, training_id)


def _form_page(
    training: TrainingRow,
    form: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
    notice: str | None = None,
) -> Template:
    return Template(
        template_name="register.html",
        context={
            "training": views.catalogue_entry(training, clock.now()),
            "form": form,
            "errors": errors,
            "notice": notice,
            "countries": _countries(),
        },
        status_code=status_code,
    )


def _missing_page(training_id: str) -> Template:
    return Template(
        template_name="message.html",
        context={
            "title": "Training not found",
            "message": "This training is not in the catalogue. It may have been withdrawn.",
        },
        status_code=404,
    )


@get("/register/{training_id:str}", operation_id="registrationForm")
async def registration_form(training_id: FromPath[str], db: DB) -> Template:
    training = await _training(db, training_id)
    if training is None:
        return _missing_page(training_id)
    return _form_page(training, {}, {})


FIELD_LIMITS = {"name": 200, "organisation": 200, "position": 200, "email": 254}
# The order of the form, for the summary of errors above it.
FIELD_ORDER = (
    "name",
    "email",
    "organisation",
    "position",
    "country",
    "needs_access",
    "needs_diet",
    "consent",
)
NEED_LIMIT = 5000


def read_form(form: dict[str, str]) -> tuple[RegistrationIn | None, dict[str, str]]:
    """Check every field at once, so the page can show each error next to its field."""
    value = {key: (form.get(key) or "").strip() for key in FIELD_LIMITS}
    errors: dict[str, str] = {}
    for key, label in (("name", "Your name"), ("organisation", "Your organisation")):
        if not value[key]:
            errors[key] = f"{label} is required."
    for key, limit in FIELD_LIMITS.items():
        if len(value[key]) > limit:
            errors[key] = f"At most {limit} characters, please."
        elif not inputs.is_line(value[key]):
            errors[key] = "One line of text, please, without control characters."
    if not value["email"]:
        errors["email"] = "Your e-mail address is required."
    elif "email" not in errors:
        try:
            value["email"] = inputs.email_address(value["email"])
        except DomainError:
            errors["email"] = "This does not look like an e-mail address (name@example.org)."
    country = (form.get("country") or "").strip().upper()
    if not country:
        errors["country"] = "Choose the country you represent."
    elif not is_country(country):
        errors["country"] = "Choose a country from the list."
    if form.get("consent") != "yes":
        errors["consent"] = "We can register you only with your consent."
    # Browsers send a textarea's line breaks as CR LF; free text keeps only the LF.
    needs = {
        key: (form.get(f"needs_{key}") or "").replace("\r\n", "\n").strip()
        for key in ("access", "diet")
    }
    for key, text in needs.items():
        if len(text) > NEED_LIMIT:
            errors[f"needs_{key}"] = f"At most {NEED_LIMIT} characters, please."
        elif not inputs.is_text(text):
            errors[f"needs_{key}"] = "Please leave out control characters."
    if errors:
        return None, {name: errors[name] for name in FIELD_ORDER if name in errors}
    try:
        data = msgspec.convert(
            {
                "name": value["name"],
                "email": value["email"],
                "organisation": value["organisation"],
                "position": value["position"] or None,
                "country": country,
                "consent": True,
                "needs": {key: text for key, text in needs.items() if text} or None,
            },
            RegistrationIn,
        )
    except (msgspec.ValidationError, DomainError) as exc:
        return None, {"form": str(exc)}
    return data, {}


@post(
    "/register/{training_id:str}",
    operation_id="registerByForm",
    status_code=200,
    middleware=[THROTTLE],
)
async def register_by_form(
    training_id: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
    db: DB,
    staff: Caller,
    registrations: Registrations,
) -> Template:
    training = await _training(db, training_id)
    if training is None:
        return _missing_page(training_id)
    registration, errors = read_form(data)
    if registration is None:
        return _form_page(training, data, errors, status_code=422)
    try:
        intake.check_submission(registration)
        done = await registrations.submit(intake.Register(training_id, registration, staff))
    except DomainError as refusal:
        status = status_of(refusal)
        if refusal.field in ("name", "email", "organisation", "country", "consent"):
            return _form_page(training, data, {refusal.field: refusal.message}, status_code=status)
        return _form_page(training, data, {}, status_code=status, notice=refusal.message)
    except RuntimeError:
        # The write failed (it is logged): the form stays, with what was typed.
        return _form_page(training, data, {}, status_code=500, notice="internal error")
    return Template(
        template_name="registered.html",
        context={
            "training": views.catalogue_entry(training, clock.now()),
            "registration": done,
            "status_words": STATUS_WORDS,
        },
    )


async def _manage_context(db: Any, settings: AppSettings, token: str) -> dict[str, Any] | None:
    async with db.session() as session:
        view = await views.manage_view(session, settings, token, clock.now())
    if view is None:
        return None
    return {
        "token": token,
        "registration": view.registration,
        "training": view.training,
        "calendar_url": view.calendar_url,
        "status_words": STATUS_WORDS,
        "active": view.active,
        "certified": view.certified,
    }


def _unknown_link() -> Template:
    return Template(
        template_name="message.html",
        context={
            "title": "This link does not work",
            "message": "The link is not (or no longer) valid. You can ask for your links "
            "to be mailed to you again.",
            "resend": True,
        },
        status_code=404,
    )


@get("/manage/{token:str}", operation_id="managePage")
async def manage_page(
    token: FromPath[str], db: DB, settings: AppSettings, done: FromQuery[str | None] = None
) -> Template:
    context = await _manage_context(db, settings, token)
    if context is None:
        return _unknown_link()
    notices = {
        "cancelled": "Your registration is cancelled. We have sent you a confirmation.",
        "renewed": "Your calendar link is renewed; the old one no longer works.",
    }
    return Template(
        template_name="manage.html", context={**context, "notice": notices.get(done or "")}
    )


async def _holder(db: Any, token: str) -> Any:
    async with db.session() as session:
        return await queries.by_manage_token(session, token)


@post("/manage/{token:str}/cancel", operation_id="cancelByManagePage", status_code=303)
async def cancel_by_page(token: FromPath[str], db: DB, settings: AppSettings) -> Response[Any]:
    row = await _holder(db, token)
    if row is None:
        return _unknown_link()
    # Already cancelled or declined: the page shows it.
    with contextlib.suppress(DomainError):
        await execute(db, commands.cancel, settings, None, commands.CancelRegistration(row.id))
    return Redirect(path=f"/manage/{token}?done=cancelled", status_code=303)


@post("/manage/{token:str}/calendar-link", operation_id="renewByManagePage", status_code=303)
async def renew_by_page(token: FromPath[str], db: DB, settings: AppSettings) -> Response[Any]:
    row = await _holder(db, token)
    if row is None:
        return _unknown_link()
    await execute(
        db,
        participant_links.renew_calendar_link,
        settings,
        None,
        participant_links.RenewCalendarLink(row.id),
    )
    return Redirect(path=f"/manage/{token}?done=renewed", status_code=303)


@get("/resend-link", operation_id="resendLinkForm")
async def resend_form() -> Template:
    return Template(template_name="resend.html", context={"sent": False, "error": None})


@post("/resend-link", operation_id="resendLinkByForm", status_code=200, middleware=[THROTTLE])
async def resend_by_form(
    data: URLEncodedBody[dict[str, str]], db: DB, settings: AppSettings
) -> Template:
    try:
        email = inputs.email_address(data.get("email") or "")
    except DomainError:
        return Template(
            template_name="resend.html",
            context={"sent": False, "error": "Enter the e-mail address you registered with."},
            status_code=422,
        )
    # After the answer, so that known and unknown addresses take the same time to answer.
    return Template(
        template_name="resend.html",
        context={"sent": True, "error": None},
        background=BackgroundTask(execute, db, participant_links.mail_links, settings, None, email),
    )


ROUTES = [
    register_by_form,
    resend_by_form,
    catalogue_page,
    registration_form,
    manage_page,
    cancel_by_page,
    renew_by_page,
    resend_form,
]
