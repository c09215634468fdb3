"""HTML pages for participants: catalogue, registration form and the request for links again.

Forms are protected by Litestar's CSRF middleware; errors are shown next to their field.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import msgspec
from litestar import MediaType, Response, Router, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from services.registration import intake, links, participant_links, queries, views
from services.registration.corrections import NEED_LIMIT
from services.registration.jobs import Intake
from services.registration.schemas import RegistrationIn
from services.registration.tables import TrainingRow
from shared import i18n, inputs, languages
from shared.clock import clock
from shared.commands import execute
from shared.countries import all_countries, is_country
from shared.errors import Conflict, DomainError, Unavailable
from shared.i18n import _, pgettext
from shared.params import DB, AppSettings, Caller
from shared.problems import status_of
from shared.throttle import THROTTLE

Registrations = NamedDependency[Intake]
# A form the public posts: answered with a page, and throttled per address.
public_form = partial(post, media_type=MediaType.HTML, middleware=[THROTTLE])


def status_words() -> dict[str, str]:
    """Each status as the participant reads it, in the language being spoken."""
    return {
        "confirmed": _("Confirmed: your seat is reserved"),
        "waitlisted": _("On the waiting list"),
        "pending": _("Received: the organisers will decide soon"),
        "declined": pgettext("registration", "Declined"),
        "cancelled": pgettext("registration", "Cancelled"),
    }


def categories() -> dict[str, str]:
    """The participant's category as the manage page names it."""
    return {
        "member": _("member state"),
        "observer": _("observer state"),
        "other": _("other country"),
    }


def countries() -> list[tuple[str, str]]:
    """Every country of the form, by its name in the language being spoken."""
    named = [(c.code, i18n.country_name(c.code, c.name)) for c in all_countries()]
    return sorted(named, key=lambda item: item[1].casefold())


@get("/", operation_id="cataloguePage")
async def catalogue_page(db: DB, settings: AppSettings) -> Template:
    now = clock.now()
    async with db.session() as session:
        rows = await queries.published_trainings(session)
        trainings = [views.catalogue_entry(row, now) for row in rows]
    pages = {row.id: links.training_page_url(settings, row.id) for row in rows}
    return Template(
        template_name="catalogue.html", context={"trainings": trainings, "programme_pages": pages}
    )


async def _training(db: Any, training_id: str) -> TrainingRow | None:
    async with db.session() as session:
        return await session.get(TrainingRow, training_id)


def _form_page(
    settings: AppSettings,
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
            "programme": views.programme_of(training),
            "programme_page": links.training_page_url(settings, training.id),
            "form": form,
            "errors": errors,
            "notice": notice,
            "countries": countries(),
        },
        status_code=status_code,
    )


def message_page(title: str, message: str, status_code: int = 404, **context: Any) -> Template:
    """A page that only says something: a training not found, a link that does not work."""
    return Template(
        template_name="message.html",
        context={"title": title, "message": message, **context},
        status_code=status_code,
    )


def _missing_page(training_id: str) -> Template:
    return message_page(
        _("Training not found"),
        _("This training is not in the catalogue. It may have been withdrawn."),
    )


@get("/register/{training_id:str}", operation_id="registrationForm")
async def registration_form(training_id: FromPath[str], db: DB, settings: AppSettings) -> Template:
    training = await _training(db, training_id)
    if training is None:
        return _missing_page(training_id)
    return _form_page(settings, training, {}, {})


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


def read_form(form: dict[str, str]) -> tuple[RegistrationIn | None, dict[str, str]]:
    """Check every field at once, so the page can show each error next to its field."""
    value = {key: (form.get(key) or "").strip() for key in FIELD_LIMITS}
    errors: dict[str, str] = {}
    if not value["name"]:
        errors["name"] = _("Your name is required.")
    if not value["organisation"]:
        errors["organisation"] = _("Your organisation is required.")
    for key, limit in FIELD_LIMITS.items():
        if len(value[key]) > limit:
            errors[key] = _("At most %(limit)s characters, please.", limit=limit)
        elif not inputs.is_line(value[key]):
            errors[key] = _("One line of text, please, without control characters.")
    if not value["email"]:
        errors["email"] = _("Your e-mail address is required.")
    elif "email" not in errors:
        try:
            value["email"] = inputs.email_address(value["email"])
        except DomainError:
            errors["email"] = _("This does not look like an e-mail address (name@example.org).")
    country = (form.get("country") or "").strip().upper()
    if not country:
        errors["country"] = _("Choose the country you represent.")
    elif not is_country(country):
        errors["country"] = _("Choose a country from the list.")
    if form.get("consent") != "yes":
        errors["consent"] = _("We can register you only with your consent.")
    # Browsers send a textarea's line breaks as CR LF; free text keeps only the LF.
    needs = {
        key: (form.get(f"needs_{key}") or "").replace("\r\n", "\n").strip()
        for key in ("access", "diet")
    }
    for key, text in needs.items():
        if len(text) > NEED_LIMIT:
            errors[f"needs_{key}"] = _("At most %(limit)s characters, please.", limit=NEED_LIMIT)
        elif not inputs.is_text(text):
            errors[f"needs_{key}"] = _("Please leave out control characters.")
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
                # The language of the page the person registered on.
                "language": i18n.language(),
            },
            RegistrationIn,
        )
    except (msgspec.ValidationError, DomainError):
        return None, {"form": _("Please check what you entered.")}
    return data, {}


@public_form("/register/{training_id:str}", operation_id="registerByForm", status_code=303)
async def register_by_form(
    training_id: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
    db: DB,
    settings: AppSettings,
    staff: Caller,
    registrations: Registrations,
) -> Response[Any]:
    training = await _training(db, training_id)
    if training is None:
        return _missing_page(training_id)
    registration, errors = read_form(data)
    if registration is None:
        return _form_page(settings, training, data, errors, status_code=422)
    try:
        intake.check_submission(registration)
        done = await registrations.submit(intake.Register(training_id, registration, staff))
    except DomainError as refusal:
        status = status_of(refusal)
        if refusal.field in ("name", "email", "organisation", "country", "consent"):
            said = _refusal(refusal)
            return _form_page(settings, training, data, {refusal.field: said}, status_code=status)
        return _form_page(
            settings, training, data, {}, status_code=status, notice=_refusal(refusal)
        )
    except RuntimeError:
        # The write failed (it is logged): the form stays, with what was typed.
        return _form_page(
            settings,
            training,
            data,
            {},
            status_code=500,
            notice=_("Something went wrong on our side; please try again in a moment."),
        )
    # Redirect after POST: reloading the confirmation must not submit the form again.
    return Redirect(path=f"/manage/{done.manage_token}/registered", status_code=303)


def _refusal(refusal: DomainError) -> str:
    """A refusal of the registration, said to the participant in their language (the API's
    messages stay English)."""
    if isinstance(refusal, Conflict) and refusal.field == "email":
        return _(
            "This e-mail address is already registered for this training: we have sent your "
            "links (to see, change or cancel the registration) to it again."
        )
    if isinstance(refusal, Conflict):
        return _("Registration for this training is not open now.")
    if isinstance(refusal, Unavailable):
        return _("Registrations cannot be taken just now; please try again in a minute.")
    return {
        "name": _("Your name is required."),
        "organisation": _("Your organisation is required."),
        "country": _("Choose a country from the list."),
        "consent": _("We can register you only with your consent."),
    }.get(refusal.field or "", _("Please check what you entered."))


@get("/resend-link", operation_id="resendLinkForm")
async def resend_form() -> Template:
    return Template(template_name="resend.html", context={"sent": False, "error": None})


@public_form("/resend-link", operation_id="resendLinkByForm", status_code=200)
async def resend_by_form(
    data: URLEncodedBody[dict[str, str]], db: DB, settings: AppSettings
) -> Template:
    try:
        email = inputs.email_address(data.get("email") or "")
    except DomainError:
        return Template(
            template_name="resend.html",
            context={"sent": False, "error": _("Enter the e-mail address you registered with.")},
            status_code=422,
        )
    # After the answer, so that known and unknown addresses take the same time to answer.
    return Template(
        template_name="resend.html",
        context={"sent": True, "error": None},
        background=BackgroundTask(execute, db, participant_links.mail_links, settings, None, email),
    )


# Every page here is the participant's: in their language (shared.languages).
ROUTES = [
    Router(
        path="/",
        route_handlers=[
            register_by_form,
            resend_by_form,
            catalogue_page,
            registration_form,
            resend_form,
        ],
        opt=languages.PARTICIPANT,
    )
]
