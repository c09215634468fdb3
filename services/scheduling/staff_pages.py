"""Staff sign-in and the secretariat's staff management: the pages of the staff directory."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from litestar import MediaType, Request, Response, Router, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from services.scheduling import sign_in as accounts
from shared import auth
from shared.commands import execute
from shared.errors import DomainError
from shared.params import DB, AppSettings

SIGN_IN_PAGE = auth.SIGN_IN_PAGE


def _gone() -> Template:
    return Template(template_name="sign_in_gone.html", status_code=410)


@get("/sign-in/{token:str}", operation_id="signInLinkPage", media_type=MediaType.HTML)
async def sign_in_page(token: FromPath[str], db: DB, settings: AppSettings) -> Template:
    """Shows one button: a mail scanner fetching the link does not use it up."""
    if not await execute(db, accounts.link_is_usable, settings, None, token):
        return _gone()
    return Template(template_name="sign_in_link.html", context={"token": token})


@post("/sign-in/{token:str}", operation_id="signIn", media_type=MediaType.HTML, status_code=303)
async def sign_in(token: FromPath[str], db: DB, settings: AppSettings) -> Response[Any]:
    session = await execute(db, accounts.sign_in, settings, None, token)
    if session is None:
        return _gone()
    response: Response[Any] = Redirect(path="/staff/", status_code=303)
    response.set_cookie(auth.session_cookie(session, auth.verify_token(settings.secret, session)))
    return response


@get(SIGN_IN_PAGE, operation_id="requestSignInLinkPage", media_type=MediaType.HTML)
async def request_link_page(request: Request[Any, Any, Any]) -> Template:
    """Where every service's staff pages send a caller without a session (or whose
    session has just expired, `?expired=1`)."""
    expired = request.query_params.get("expired") == "1" or auth.stale_session(request.scope)
    return Template(
        template_name="sign_in_request.html", context={"sent": False, "expired": expired}
    )


@post(SIGN_IN_PAGE, operation_id="requestSignInLink", media_type=MediaType.HTML, status_code=200)
async def request_link(
    data: URLEncodedBody[dict[str, str]], db: DB, settings: AppSettings
) -> Template:
    """Answers alike for any address; mails a link only to an active staff member."""
    await execute(db, accounts.request_link, settings, None, data.get("email", ""))
    return Template(template_name="sign_in_request.html", context={"sent": True})


def _signed_in(request: Request[Any, Any, Any]) -> auth.Staff | None:
    return auth.staff_or_none(request)


def to_sign_in() -> Redirect:
    return Redirect(path=SIGN_IN_PAGE, status_code=303)


async def _people(
    request: Request[Any, Any, Any], db: DB, settings: AppSettings, error: str | None = None
) -> Response[Any]:
    who = _signed_in(request)
    if who is None:
        return to_sign_in()
    if not who.is_secretariat:
        return Template(
            template_name="staff_people.html",
            context={"forbidden": True, "who": who},
            status_code=403,
        )
    members = await execute(db, accounts.directory, settings, who, None)
    return Template(
        template_name="staff_people.html",
        context={"forbidden": False, "who": who, "members": members, "error": error},
        status_code=422 if error else 200,
    )


@get("/staff/people", operation_id="staffPeoplePage", media_type=MediaType.HTML)
async def people_page(request: Request[Any, Any, Any], db: DB, settings: AppSettings) -> Any:
    return await _people(request, db, settings)


def _enrolment(data: dict[str, Any], email: str | None = None) -> accounts.Enrolment:
    countries = data.get("countries", "")
    codes = countries if isinstance(countries, list) else str(countries).replace(",", " ").split()
    return accounts.Enrolment(
        email=email or str(data.get("email", "")),
        role=str(data.get("role", "")),
        name=str(data.get("name", "")),
        countries=[str(code) for code in codes],
    )


async def _act(
    request: Request[Any, Any, Any], db: DB, settings: AppSettings, command: Any, input: Any
) -> Response[Any]:
    who = _signed_in(request)
    if who is None:
        return to_sign_in()
    try:
        await execute(db, command, settings, who, input)
    except DomainError as refusal:
        return await _people(request, db, settings, error=refusal.message)
    return Redirect(path="/staff/people", status_code=303)


@post("/staff/people", operation_id="inviteStaff", media_type=MediaType.HTML, status_code=303)
async def invite(
    request: Request[Any, Any, Any],
    data: URLEncodedBody[dict[str, str]],
    db: DB,
    settings: AppSettings,
) -> Response[Any]:
    return await _act(request, db, settings, accounts.invite, _enrolment(data))


@post(
    "/staff/people/{email:str}/change",
    operation_id="changeStaff",
    media_type=MediaType.HTML,
    status_code=303,
)
async def change(
    email: FromPath[str],
    request: Request[Any, Any, Any],
    data: URLEncodedBody[dict[str, str]],
    db: DB,
    settings: AppSettings,
) -> Response[Any]:
    return await _act(request, db, settings, accounts.change, _enrolment(data, email))


@post(
    "/staff/people/{email:str}/revoke",
    operation_id="revokeStaff",
    media_type=MediaType.HTML,
    status_code=303,
)
async def revoke(
    email: FromPath[str], request: Request[Any, Any, Any], db: DB, settings: AppSettings
) -> Response[Any]:
    return await _act(request, db, settings, accounts.revoke, email)


@post(
    "/staff/sign-out-everywhere",
    operation_id="signOutEverywhere",
    media_type=MediaType.HTML,
    status_code=303,
)
async def sign_out_everywhere(
    request: Request[Any, Any, Any], db: DB, settings: AppSettings
) -> Response[Any]:
    who = _signed_in(request)
    if who is None:
        return to_sign_in()
    # Not in the directory (a pasted token): this browser signs out all the same.
    with suppress(DomainError):
        await execute(db, accounts.sign_out_everywhere, settings, who, who.sub)
    response: Response[Any] = to_sign_in()
    response.set_cookie(auth.cleared_session_cookie())
    return response


staff_pages = Router(
    path="/",
    include_in_schema=False,
    route_handlers=[
        sign_in_page,
        sign_in,
        request_link_page,
        request_link,
        people_page,
        invite,
        change,
        revoke,
        sign_out_everywhere,
    ],
)
