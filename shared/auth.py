"""Staff tokens (HS256), route guards, and the staff session cookie set by /login."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from shared.clock import clock

ROLES = ("secretariat", "organiser")
COOKIE_NAME = "__Host-capitals_staff"
DEFAULT_LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class Staff:
    """Who a valid staff token says the caller is."""

    sub: str
    role: str
    countries: frozenset[str]

    @property
    def is_secretariat(self) -> bool:
        return self.role == "secretariat"

    def may_manage(self, country: str) -> bool:
        """Whether this person may act on a training hosted by `country`."""
        return self.is_secretariat or country.upper() in self.countries


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
        sub=str(claims["sub"]), role=role, countries=frozenset(str(c).upper() for c in countries)
    )


def token_from(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise NotAuthorizedException(detail="Authorization header must be 'Bearer <token>'")
        return value.strip()
    return connection.cookies.get(COOKIE_NAME)


def staff_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Staff | None:
    """The staff member calling, None for the public; 401 for a bad token."""
    cached = connection.scope.get("state", {}).get("staff", False)
    if cached is not False:
        return cached
    token = token_from(connection)
    secret: str = connection.app.state.settings.secret
    staff = verify_token(secret, token) if token is not None else None
    connection.scope.setdefault("state", {})["staff"] = staff
    return staff


def authenticate(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """App-wide guard: a presented token that is malformed, forged or expired gets 401
    before the body is read, on every route, public ones included."""
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
