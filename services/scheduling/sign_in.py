"""Staff accounts and sign-in links: the commands of the staff directory scheduling owns.

Every change is stored, announced (scheduling.staff.changed) and written to this
service's own `staff_directory` in one transaction; the other services apply the event."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from sqlmodel import col, select

from services.scheduling import audits, links, people
from services.scheduling.tables import SignInLinkRow, StaffMemberRow
from shared import audit, tokens
from shared.audit import audited
from shared.auth import issue_token
from shared.clock import clock
from shared.db import UnitOfWork
from shared.errors import Forbidden, NotFound
from shared.events import contracts as ev
from shared.mail import Mail
from shared.settings import Settings
from shared.staff import Staff
from shared.staff_directory import record
from shared.structs import carried


@dataclass(frozen=True)
class Enrolment:
    email: str
    role: str
    name: str = ""
    countries: list[str] = field(default_factory=list)


def _member(row: StaffMemberRow) -> people.Member:
    return carried(people.Member, row, countries=tuple(row.countries))


def _secretariat_or_system(who: Staff | None) -> None:
    if who is not None and not who.is_secretariat:
        raise Forbidden("only the secretariat manages staff")


async def _store(uow: UnitOfWork, member: people.Member) -> None:
    row = await uow.session.get(StaffMemberRow, member.email) or StaffMemberRow(
        email=member.email, role=member.role
    )
    row.name, row.role, row.countries = member.name, member.role, list(member.countries)
    row.revoked, row.signed_out_at, row.revision = (
        member.revoked,
        member.signed_out_at,
        member.revision,
    )
    uow.session.add(row)
    change = carried(ev.StaffChanged, member, id=member.email, countries=list(member.countries))
    uow.emit(change)
    await uow.session.flush()
    await record(uow, change)


async def _current(uow: UnitOfWork, email: str) -> people.Member | None:
    row = await uow.session.get(StaffMemberRow, email.strip().lower())
    return None if row is None else _member(row)


async def _new_link(uow: UnitOfWork, settings: Settings, email: str) -> str:
    token = secrets.token_urlsafe(32)  # 256 bits
    uow.session.add(
        SignInLinkRow(
            token_sha256=tokens.digest(token),
            email=email,
            expires_at=clock.now() + people.LINK_LIFETIME,
        )
    )
    return links.sign_in_url(settings, token)


def _link_mail(to: str, url: str, invited: bool) -> Mail:
    opening = "You have been invited to the Capitals staff area." if invited else ""
    text = (
        f"{opening}\n\nSign in with this link within 15 minutes; it works once:\n\n{url}\n\n"
        "If it has expired, ask for a new one on the sign-in page.\n"
    ).lstrip()
    return Mail(to=to, subject="Your Capitals sign-in link", text=text)


async def enrol(uow: UnitOfWork, settings: Settings, who: Staff | None, input: Enrolment) -> str:
    """Create or update a staff member (not a revoked one) and return a sign-in link."""
    _secretariat_or_system(who)
    wanted = people.checked(input.email, input.name, input.role, input.countries)
    member = people.enrolled(await _current(uow, wanted.email), wanted)
    await _store(uow, member)
    if who is None:
        # `capitals sign-in-link` or `capitals up`: the operator of the machine acts.
        detail = {"role": member.role, "countries": list(member.countries)}
        target = audit.Target("staff", member.email, detail=detail)
        audit.record(uow, "command line", "operator", "staff.enrolled", target)
    return await _new_link(uow, settings, member.email)


@audited("staff.changed", audits.staff_member)
async def change(uow: UnitOfWork, settings: Settings, who: Staff | None, input: Enrolment) -> None:
    """A new role or countries for an existing, not revoked, member (no link is made)."""
    _secretariat_or_system(who)
    current = await _existing(uow, input.email)
    wanted = people.checked(input.email, input.name, input.role, input.countries)
    await _store(uow, people.enrolled(current, wanted))


@audited("staff.invited", audits.staff_member)
async def invite(uow: UnitOfWork, settings: Settings, who: Staff | None, input: Enrolment) -> str:
    """`enrol`, and mail them the link."""
    url = await enrol(uow, settings, who, input)
    uow.send_mail(_link_mail(input.email.strip().lower(), url, invited=True))
    return url


async def request_link(uow: UnitOfWork, settings: Settings, who: Staff | None, email: str) -> None:
    """Mail a fresh link to an active staff member; anyone else gets nothing (the page
    answers alike, so it does not tell who is staff)."""
    member = await _current(uow, email)
    if member is None or member.revoked:
        return
    uow.send_mail(_link_mail(member.email, await _new_link(uow, settings, member.email), False))


async def link_is_usable(
    uow: UnitOfWork, settings: Settings, who: Staff | None, token: str
) -> bool:
    row = await uow.session.get(SignInLinkRow, tokens.digest(token))
    return row is not None and people.link_usable(row.expires_at, row.used_at, clock.now())


async def sign_in(uow: UnitOfWork, settings: Settings, who: Staff | None, token: str) -> str | None:
    """Use the link up and return a session token, or None when it is unknown, used,
    expired or its member revoked."""
    row = await uow.session.get(SignInLinkRow, tokens.digest(token), with_for_update=True)
    now = clock.now()
    if row is None or not people.link_usable(row.expires_at, row.used_at, now):
        return None
    row.used_at = now
    uow.session.add(row)
    member = await _current(uow, row.email)
    if member is None or member.revoked:
        return None
    target = audit.Target("staff", member.email, detail={"with": "sign-in link"})
    audit.record(uow, member.email, member.role, "staff.signed_in", target)
    return issue_token(
        settings.secret,
        role=member.role,
        countries=list(member.countries),
        subject=member.email,
        lifetime=people.SESSION_LIFETIME,
    )


async def _existing(uow: UnitOfWork, email: str) -> people.Member:
    member = await _current(uow, email)
    if member is None:
        raise NotFound(f"no staff member {email}", field="email")
    return member


@audited("staff.revoked", audits.staff_member)
async def revoke(uow: UnitOfWork, settings: Settings, who: Staff | None, email: str) -> None:
    _secretariat_or_system(who)
    member = await _existing(uow, email)
    if not member.revoked:
        await _store(uow, people.revoked(member))


@audited("staff.signed_out_everywhere", audits.staff_member)
async def sign_out_everywhere(
    uow: UnitOfWork, settings: Settings, who: Staff | None, email: str
) -> None:
    """End every session and token of `email` (oneself, or anyone for the secretariat)."""
    if who is not None and who.sub != email and not who.is_secretariat:
        raise Forbidden("you may sign out only yourself")
    member = await _existing(uow, email)
    await _store(uow, people.signed_out(member, clock.now()))


async def directory(
    uow: UnitOfWork, settings: Settings, who: Staff | None, _: None
) -> list[people.Member]:
    _secretariat_or_system(who)
    rows = await uow.session.exec(select(StaffMemberRow).order_by(col(StaffMemberRow.email)))
    return [_member(row) for row in rows]
