"""The shared /login page, where API users paste a staff token to get a session cookie,
and /logout; staff without a token sign in by e-mail link on scheduling instead."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import NotAuthorizedException
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template

from shared import audit, auth

log = logging.getLogger(__name__)

SESSION_EXPIRED = "Your sign-in has expired or is no longer valid. Please sign in again."


@get("/login", operation_id="loginPage", include_in_schema=False)
async def login_page(request: Request[Any, Any, Any]) -> Template:
    expired = request.query_params.get("expired") == "1" or auth.stale_session(request.scope)
    return Template(
        template_name="login.html",
        context={
            "error": None,
            "notice": SESSION_EXPIRED if expired else None,
            "next": request.query_params.get("next", "/"),
        },
    )


@post("/login", operation_id="login", include_in_schema=False, status_code=303)
async def login(
    request: Request[Any, Any, Any],
    data: URLEncodedBody[dict[str, str]],
) -> Response[Any]:
    """Takes a staff token and keeps it in a __Host- session cookie."""
    token = (data.get("token") or "").strip()
    try:
        staff = auth.verify_token(request.app.state.settings.secret, token)
    except NotAuthorizedException as exc:
        return Template(
            template_name="login.html",
            context={"error": exc.detail, "notice": None, "next": data.get("next", "/")},
            status_code=401,
        )
    target = data.get("next") or "/"
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    response: Response[Any] = Redirect(path=target, status_code=303)
    response.set_cookie(auth.session_cookie(token, staff))
    async with request.app.state.runtime.db.unit() as uow:
        who = audit.Target("staff", staff.sub, detail={"with": "token"})
        audit.record(uow, staff.sub, staff.role, "staff.signed_in", who)
    log.info("staff login", extra={"status": staff.role})
    return response


@post("/logout", operation_id="logout", include_in_schema=False, status_code=303)
async def logout(request: Request[Any, Any, Any]) -> Response[Any]:
    """Clears the session cookie; a staff member who was signed in is written to the audit
    log (a stale or revoked session is only cleared)."""
    staff = auth.staff_or_none(request)
    if staff is not None:
        async with request.app.state.runtime.db.unit() as uow:
            audit.record(
                uow, staff.sub, staff.role, "staff.signed_out", audit.Target("staff", staff.sub)
            )
    response: Response[Any] = Redirect(path="/login", status_code=303)
    response.set_cookie(auth.cleared_session_cookie())
    return response


ROUTES = [login_page, login, logout]
