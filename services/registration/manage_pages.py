"""The participant's own pages, reached with the manage token: the confirmation after
registering, the manage page, correcting one's details, and cancelling (after a confirm step).

Forms are protected by Litestar's CSRF middleware; errors are shown next to their field."""

from __future__ import annotations

import contextlib
from typing import Any

from litestar import Response, Router, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from services.registration import (
    commands,
    corrections,
    details,
    links,
    pages,
    participant_links,
    queries,
    views,
)
from shared import i18n, languages
from shared.clock import clock
from shared.commands import execute
from shared.errors import DomainError, Invalid
from shared.i18n import _
from shared.params import DB, AppSettings

DETAIL_FIELDS = ("name", "organisation", "position", "needs_access", "needs_diet", "language")


async def manage_context(db: Any, settings: AppSettings, token: str) -> dict[str, Any] | None:
    async with db.session() as session:
        view = await views.manage_view(session, settings, token, clock.now())
    if view is None:
        return None
    languages.holder_speaks(view.registration.language)
    return {
        "token": token,
        "registration": view.registration,
        "training": view.training,
        "calendar_url": view.calendar_url,
        "manage_url": f"{settings.public_url('registration')}/manage/{token}",
        "programme_page": links.training_page_url(settings, view.registration.training_id),
        "status_words": pages.status_words(),
        "categories": pages.categories(),
        "active": view.active,
        "languages": [(code, i18n.name_of(code)) for code in settings.languages],
        "letter": view.letter,
        "certified": view.certified,
        "countries": pages.countries(),
        "letter_form": {},
        "letter_errors": {},
    }


def unknown_link() -> Template:
    return pages.message_page(
        _("This link does not work"),
        _(
            "The link is not (or no longer) valid. You can ask for your links to be "
            "mailed to you again."
        ),
        resend=True,
    )


def _form_of(registration: Any) -> dict[str, str]:
    needs = registration.needs
    return {
        "name": registration.name,
        "organisation": registration.organisation,
        "position": registration.position or "",
        "needs_access": (needs.access if needs else None) or "",
        "needs_diet": (needs.diet if needs else None) or "",
        "language": registration.language,
    }


def manage_template(
    context: dict[str, Any],
    *,
    notice: str | None = None,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    return Template(
        template_name="manage.html",
        context={
            **context,
            "notice": notice,
            "form": form if form is not None else _form_of(context["registration"]),
            "errors": errors or {},
        },
        status_code=status_code,
    )


@get("/manage/{token:str}", operation_id="managePage")
async def manage_page(
    token: FromPath[str], db: DB, settings: AppSettings, done: FromQuery[str | None] = None
) -> Template:
    context = await manage_context(db, settings, token)
    if context is None:
        return unknown_link()
    notices = {
        "cancelled": _("Your registration is cancelled. We have sent you a confirmation."),
        "renewed": _("Your calendar link is renewed; the old one no longer works."),
        "changed": _("Your details are saved."),
        "letter": _("Your request for an invitation letter is sent to the organisers."),
    }
    return manage_template(context, notice=notices.get(done or ""))


@get("/manage/{token:str}/registered", operation_id="registeredPage")
async def registered_page(token: FromPath[str], db: DB, settings: AppSettings) -> Template:
    """The confirmation after the form, reached by a redirect so that reloading it sends
    nothing again."""
    context = await manage_context(db, settings, token)
    if context is None:
        return unknown_link()
    return Template(template_name="registered.html", context=context)


async def holder(db: Any, token: str) -> Any:
    async with db.session() as session:
        return await queries.by_manage_token(session, token)


@get("/manage/{token:str}/cancel", operation_id="cancelConfirmPage")
async def cancel_confirm_page(token: FromPath[str], db: DB, settings: AppSettings) -> Response[Any]:
    """Ask before cancelling, and say what happens to the seat."""
    context = await manage_context(db, settings, token)
    if context is None:
        return unknown_link()
    if not context["active"]:
        return Redirect(path=f"/manage/{token}", status_code=303)
    return Template(template_name="cancel.html", context=context)


@post("/manage/{token:str}/cancel", operation_id="cancelByManagePage", status_code=303)
async def cancel_by_page(
    token: FromPath[str], data: URLEncodedBody[dict[str, str]], db: DB, settings: AppSettings
) -> Response[Any]:
    row = await holder(db, token)
    if row is None:
        return unknown_link()
    if data.get("confirm") != "yes":
        # Only the confirm page's button cancels: anything else asks first.
        return Redirect(path=f"/manage/{token}/cancel", status_code=303)
    # Already cancelled or declined: the page shows it.
    with contextlib.suppress(DomainError):
        await execute(db, commands.cancel, settings, None, commands.CancelRegistration(row.id))
    return Redirect(path=f"/manage/{token}?done=cancelled", status_code=303)


def read_details(
    form: dict[str, str], current: corrections.Details, languages: tuple[str, ...]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The changes the form asks for, and an error per bad field (each checked by the same
    rule as the API's)."""
    changes: dict[str, Any] = {
        "name": form.get("name") or "",
        "organisation": form.get("organisation") or "",
        "position": form.get("position") or "",
        "needs": {key: form.get(f"needs_{key}") or "" for key in ("access", "diet")},
        "language": form.get("language") or "",
    }
    errors: dict[str, str] = {}
    for name, value in changes.items():
        try:
            corrections.corrected(current, {name: value}, languages)
        except Invalid as refusal:
            errors[(refusal.field or name).replace(".", "_")] = _field_message(
                refusal.field or name
            )
    return changes, {name: errors[name] for name in DETAIL_FIELDS if name in errors}


def _field_message(field: str) -> str:
    messages = {
        "name": _("Your name is required, on one line, in at most 200 characters."),
        "organisation": _("Your organisation is required, on one line, in at most 200 characters."),
        "position": _("One line of at most 200 characters, please."),
        "needs.access": _("At most 5000 characters, please, without control characters."),
        "needs.diet": _("At most 5000 characters, please, without control characters."),
        "language": _("Choose a language from the list."),
    }
    return messages.get(field, _("Please correct this field."))


@post("/manage/{token:str}/details", operation_id="changeDetailsByManagePage", status_code=303)
async def change_details_by_page(
    token: FromPath[str], data: URLEncodedBody[dict[str, str]], db: DB, settings: AppSettings
) -> Response[Any]:
    row = await holder(db, token)
    context = await manage_context(db, settings, token)
    if row is None or context is None:
        return unknown_link()
    languages = settings.languages
    changes, errors = read_details(data, details.details_of(row), languages)
    if not errors:
        try:
            await execute(
                db, details.change_details, settings, None, details.ChangeDetails(row.id, changes)
            )
        except DomainError as refusal:
            errors = {"form": refusal.message}
    if errors:
        form = {name: data.get(name) or "" for name in DETAIL_FIELDS}
        return manage_template(context, form=form, errors=errors, status_code=422)
    return Redirect(path=f"/manage/{token}?done=changed", status_code=303)


@post("/manage/{token:str}/calendar-link", operation_id="renewByManagePage", status_code=303)
async def renew_by_page(token: FromPath[str], db: DB, settings: AppSettings) -> Response[Any]:
    row = await holder(db, token)
    if row is None:
        return unknown_link()
    await execute(
        db,
        participant_links.renew_calendar_link,
        settings,
        None,
        participant_links.RenewCalendarLink(row.id),
    )
    return Redirect(path=f"/manage/{token}?done=renewed", status_code=303)


ROUTES = [
    Router(
        path="/",
        route_handlers=[
            manage_page,
            registered_page,
            cancel_confirm_page,
            cancel_by_page,
            change_details_by_page,
            renew_by_page,
        ],
        opt=languages.PARTICIPANT,
    )
]
