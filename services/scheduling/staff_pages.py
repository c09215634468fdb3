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
from shared.params import DB, AppSettings, StaffMember
from shared.staff_pages import secretariat_only, staff_router

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


def to_sign_in(_: object = None) -> Redirect:
    """This service's own sign-in page, which its staff-directory pages send the public to."""
    return Redirect(path=SIGN_IN_PAGE, status_code=303)


def _forbidden(_: str, status_code: int) -> Template:
    # The directory page says itself why it is not shown.
    return Template(
        template_name="staff_people.html", context={"forbidden": True}, status_code=status_code
    )


PEOPLE_SECRETARIAT_ONLY = secretariat_only("Only the secretariat manages staff.")


async def _people(
    who: auth.Staff, db: DB, settings: AppSettings, error: str | None = None
) -> Response[Any]:
    if not who.is_secretariat:
        # What an organiser is shown after the directory's command refused them.
        return _forbidden("", 403)
    members = await execute(db, accounts.directory, settings, who, None)
    return Template(
        template_name="staff_people.html",
        context={"forbidden": False, "who": who, "members": members, "error": error},
        status_code=422 if error else 200,
    )


@get(
    "/staff/people",
    operation_id="staffPeoplePage",
    media_type=MediaType.HTML,
    opt=PEOPLE_SECRETARIAT_ONLY,
)
async def people_page(who: StaffMember, db: DB, settings: AppSettings) -> Any:
    return await _people(who, db, settings)


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
    who: auth.Staff, db: DB, settings: AppSettings, command: Any, input: Any
) -> Response[Any]:
    try:
        await execute(db, command, settings, who, input)
    except DomainError as refusal:
        return await _people(who, db, settings, error=refusal.message)
    return Redirect(path="/staff/people", status_code=303)


@post("/staff/people", operation_id="inviteStaff", media_type=MediaType.HTML, status_code=303)
async def invite(
    who: StaffMember,
    data: URLEncodedBody[dict[str, str]],
    db: DB,
    settings: AppSettings,
) -> Response[Any]:
    return await _act(who, db, settings, accounts.invite, _enrolment(data))


@post(
    "/staff/people/{email:str}/change",
    operation_id="changeStaff",
    media_type=MediaType.HTML,
    status_code=303,
)
async def change(
    email: FromPath[str],
    who: StaffMember,
    data: URLEncodedBody[dict[str, str]],
    db: DB,
    settings: AppSettings,
) -> Response[Any]:
    return await _act(who, db, settings, accounts.change, _enrolment(data, email))


@post(
    "/staff/people/{email:str}/revoke",
    operation_id="revokeStaff",
    media_type=MediaType.HTML,
    status_code=303,
)
async def revoke(
    email: FromPath[str], who: StaffMember, db: DB, settings: AppSettings
) -> Response[Any]:
    return await _act(who, db, settings, accounts.revoke, email)


@post(
    "/staff/sign-out-everywhere",
    operation_id="signOutEverywhere",
    media_type=MediaType.HTML,
    status_code=303,
)
async def sign_out_everywhere(who: StaffMember, db: DB, settings: AppSettings) -> Response[Any]:
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
        staff_router(
            _forbidden,
            people_page,
            invite,
            change,
            revoke,
            sign_out_everywhere,
            sign_in=to_sign_in,
            include_in_schema=False,
        ),
    ],
)
