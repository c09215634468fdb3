"""Staff tokens (HS256), route guards, and the staff session cookie set by /login.

A token in the Authorization header is an API client's deliberate credential: a bad one
is a 401. The session cookie is the browser's ambient one: a stale cookie is ignored (and
cleared), and a valid one changes nothing from another origin.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import jwt
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Redirect

from shared.clock import clock
from shared.errors import Forbidden, NotFound
from shared.staff import Staff
from shared.staff import as_listed as listed

__all__ = ["Staff"]  # re-exported: routes and tests import it from here

ROLES = ("secretariat", "organiser")
COOKIE_NAME = "__Host-capitals_staff"
DEFAULT_LIFETIME = timedelta(hours=12)
# Routes with this opt take no CSRF token (the JSON API); the cookie acts there only from
# the service's own origin.
CSRF_EXEMPT = "exclude_from_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def issue_token(
    secret: str,
    *,
    role: str,
    countries: list[str] | None = None,
    subject: str | None = None,
    lifetime: timedelta = DEFAULT_LIFETIME,
) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    codes = sorted({code.upper() for code in countries or []})
    if role == "organiser" and not codes:
        raise ValueError("an organiser token needs at least one --country")
    issued = clock.now()
    claims: dict[str, Any] = {
        "sub": subject or f"{role}-{uuid.uuid4().hex[:8]}",
        "role": role,
        "countries": codes,
        "iat": int(issued.timestamp()),
        "exp": int((issued + lifetime).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_token(secret: str, token: str) -> Staff:
    """Decode a staff token or raise NotAuthorizedException (401)."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            options={
                "require": ["sub", "role", "iat", "exp"],
                "verify_exp": False,
                "verify_iat": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise NotAuthorizedException(detail=f"invalid staff token: {exc}") from None
    # Expiry is checked against the project clock so tests can move time.
    if int(claims["exp"]) <= clock.now().timestamp():
        raise NotAuthorizedException(detail="staff token has expired")
    role = claims.get("role")
    countries = claims.get("countries") or []
    if role not in ROLES or not isinstance(countries, list):
        raise NotAuthorizedException(detail="staff token has malformed claims")
    return Staff(
        sub=str(claims["sub"]),
        role=role,
        countries=frozenset(str(c).upper() for c in countries),
        expires=int(claims["exp"]),
        issued=int(claims["iat"]),
    )


def as_listed(connection: ASGIConnection[Any, Any, Any, Any], staff: Staff) -> Staff | None:
    """`staff` as the staff directory of this service now has it (shared.staff_directory):
    None once revoked or signed out everywhere, else narrowed to their current role and
    countries. The directory is in memory, reread every few seconds."""
    runtime = getattr(connection.app.state, "runtime", None)
    directory = getattr(runtime, "directory", None)
    if directory is None:
        return staff
    return listed(staff, directory.get(staff.sub))


def _bearer(header: str) -> str:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise NotAuthorizedException(detail="Authorization header must be 'Bearer <token>'")
    return value.strip()


def staff_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Staff | None:
    """The staff member calling, None for the public.

    A bad or revoked bearer token is a 401. A session cookie that has expired or does not verify
    makes the caller anonymous (and is cleared on the way out); a valid one used to
    change something on a route without CSRF token from another origin is a 403.
    """
    state = connection.scope.setdefault("state", {})
    if "staff" in state:
        cached: Staff | None = state["staff"]
        return cached
    secret: str = connection.app.state.settings.secret
    header = connection.headers.get("authorization")
    staff: Staff | None = None
    if header is not None:
        staff = as_listed(connection, verify_token(secret, _bearer(header)))
        if staff is None:
            raise NotAuthorizedException(detail="this staff token has been revoked")
    elif (cookie := connection.cookies.get(COOKIE_NAME)) is not None:
        try:
            staff = as_listed(connection, verify_token(secret, cookie))
        except NotAuthorizedException:
            staff = None
        if staff is None:
            state["stale_session"] = True
        else:
            _check_origin(connection)
    state["staff"] = staff
    return staff


def _origin_of(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def _check_origin(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """A browser sends the cookie along with any site's form or text/plain POST; where no
    CSRF token stands guard, Origin (or Referer) must be the service's public origin."""
    if connection.scope.get("method", "GET") in SAFE_METHODS:
        return
    handler = connection.scope.get("route_handler")
    if handler is None or not handler.opt.get(CSRF_EXEMPT):
        return
    settings = connection.app.state.settings
    own = _origin_of(settings.public_url(connection.app.state.service))
    sent = connection.headers.get("origin") or connection.headers.get("referer")
    # "null" (an opaque origin) and a missing header are refused alike.
    if sent is None or _origin_of(sent) != own:
        raise PermissionDeniedException(
            detail=f"a signed-in browser may change things here only from {own}; "
            "API clients send 'Authorization: Bearer <token>'"
        )


def session_cookie(token: str, staff: Staff) -> Cookie:
    """The cookie /login sets: it ends when the token does."""
    remaining = max(0, staff.expires - int(clock.now().timestamp()))
    return _session_cookie(token, remaining)


def cleared_session_cookie() -> Cookie:
    return _session_cookie("", 0)


def _session_cookie(value: str, max_age: int) -> Cookie:
    return Cookie(
        key=COOKIE_NAME,
        value=value,
        path="/",
        httponly=True,
        # __Host- cookies must be Secure (browsers accept that on https and on localhost),
        # and a browser removes one only when the removing Set-Cookie is Secure too.
        secure=True,
        samesite="strict",
        max_age=max_age,
        expires=max_age,
    )


def stale_session(scope: Any) -> bool:
    """Whether this request came with a session cookie that no longer verifies."""
    return bool(scope.get("state", {}).get("stale_session"))


SIGN_IN_PAGE = "/staff/sign-in"


def sign_in_url(settings: Any) -> str:
    """Where staff without a session ask for a sign-in link by e-mail: scheduling's page,
    at its public address (the staff home; `/login` with a pasted token stays for API users)."""
    return str(settings.link("scheduling", SIGN_IN_PAGE))


def sign_in_again(connection: ASGIConnection[Any, Any, Any, Any]) -> Redirect:
    """What a staff page answers to a caller who is not signed in: the sign-in page, which
    says why when the session has just expired."""
    expired = "?expired=1" if stale_session(connection.scope) else ""
    settings = connection.app.state.settings
    return Redirect(path=f"{sign_in_url(settings)}{expired}", status_code=303)


def authenticate(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """App-wide guard: a bearer token that is malformed, forged or expired gets 401 before
    the body is read, on every route, public ones included (a stale cookie does not)."""
    staff_of(connection)


def require_staff(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: any valid staff token (401 otherwise)."""
    if staff_of(connection) is None:
        raise NotAuthorizedException(detail="a staff token is required")


def require_secretariat(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Guard: the secretariat only (401 without a token, 403 for an organiser)."""
    staff = staff_of(connection)
    if staff is None:
        raise NotAuthorizedException(detail="a staff token is required")
    if not staff.is_secretariat:
        raise PermissionDeniedException(detail="only the secretariat may do this")


def require_country(staff: Staff | None, country: str) -> Staff:
    """Inside a handler: the caller must manage `country` (401 / 403)."""
    if staff is None:
        raise NotAuthorizedException(detail="a staff token is required")
    if not staff.may_manage(country):
        raise PermissionDeniedException(
            detail=f"your token does not cover host country {country.upper()}"
        )
    return staff


def check_host(staff: Staff, host: str) -> None:
    """The pure check a page makes: `staff` must manage trainings hosted by `host`, or
    `Forbidden` (a page shows its refusal; anywhere else it is a 403)."""
    if not staff.may_manage(host):
        raise Forbidden(
            f"your token does not cover host country {host.upper()}", field="host_country"
        )


def staff_or_none(connection: ASGIConnection[Any, Any, Any, Any]) -> Staff | None:
    """The signed-in staff member of a page, None for the public: a page asks a stale
    cookie or a bad token to sign in again rather than answering 401."""
    try:
        return staff_of(connection)
    except NotAuthorizedException:
        return None


HostOf = Callable[[Any, str, Staff], Awaitable[str | None]]
Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]


def host_country_guard(param: str, host_of: HostOf, what: str) -> Guard:
    """A guard: 401 without staff, 404 when `host_of(session, id, staff)` finds no host
    (none, or one the caller may not know exists), 403 when the staff does not manage it.

    The path parameter `param` names the object; the lookup runs in its own session."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        staff = staff_of(connection)
        if staff is None:
            raise NotAuthorizedException(detail="a staff token is required")
        key = str(connection.path_params[param])
        async with connection.app.state.runtime.db.session() as session:
            host = await host_of(session, key, staff)
        if host is None:
            raise NotFound(f"no {what} {key}")
        require_country(staff, host)

    return guard
