"""Rules of the staff directory: who may be staff, with which role and countries, and how
long a sign-in link and a session last. Pure."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from shared.countries import is_country
from shared.errors import Conflict, Invalid
from shared.inputs import email_address, is_line

ROLES = ("secretariat", "organiser")
LINK_LIFETIME = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class Member:
    """A staff member: known by e-mail, the `sub` of their sessions and tokens."""

    email: str
    name: str
    role: str
    countries: tuple[str, ...]
    revoked: bool = False
    signed_out_at: int | None = None
    revision: int = 0


def checked(email: str, name: str, role: str, countries: list[str]) -> Member:
    """A new staff member's details, or Invalid naming the field."""
    address = email_address(email.strip()).lower()
    name = name.strip()
    if len(name) > 200 or (name and not is_line(name)):
        raise Invalid("a name is one line of at most 200 characters", field="name")
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}", field="role")
    codes = tuple(sorted({code.strip().upper() for code in countries if code.strip()}))
    for code in codes:
        if not is_country(code):
            raise Invalid(f"unknown country {code}", field="countries")
    if role == "organiser" and not codes:
        raise Invalid("an organiser needs at least one host country", field="countries")
    if role == "secretariat":
        codes = ()
    return Member(email=address, name=name, role=role, countries=codes)


def enrolled(current: Member | None, wanted: Member) -> Member:
    """Create or update a member; a revoked one stays revoked (Conflict)."""
    if current is None:
        return replace(wanted, revision=1)
    if current.revoked:
        raise Conflict(f"{current.email} has been revoked", field="email")
    return replace(
        current,
        name=wanted.name or current.name,
        role=wanted.role,
        countries=wanted.countries,
        revision=current.revision + 1,
    )


def revoked(current: Member) -> Member:
    return replace(current, revoked=True, revision=current.revision + 1)


def signed_out(current: Member, now: datetime) -> Member:
    """Every session and token issued until `now` ends."""
    return replace(current, signed_out_at=int(now.timestamp()), revision=current.revision + 1)


def link_usable(expires_at: datetime, used_at: datetime | None, now: datetime) -> bool:
    return used_at is None and now < expires_at
