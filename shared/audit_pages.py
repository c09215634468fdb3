"""The secretariat reads a service's audit log: `GET /audit` for integrations and the page
`/staff/audit`, the same on every service, with the same filters."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, get
from litestar.di import Provide
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from shared.audit import EntryList, Filters, entries
from shared.auth import sign_in_again, staff_or_none
from shared.params import DB, Offset
from shared.routes import secretariat_get

PAGE = 100
Limit = Annotated[int, QueryParameter(ge=1, le=1000)]
Text = Annotated[str | None, QueryParameter(max_length=320)]
# `who` names the caller's dependency in every app (shared.params.StaffMember).
Who = Annotated[str | None, QueryParameter(name="who", max_length=320)]
Id = Annotated[str | None, QueryParameter(max_length=320)]
Country = Annotated[str | None, QueryParameter(min_length=2, max_length=2)]
UTC_DAY = "a UTC day (YYYY-MM-DD), inclusive"
Since = Annotated[date | None, QueryParameter(name="from", description=UTC_DAY)]
Until = Annotated[date | None, QueryParameter(name="to", description=UTC_DAY)]


def asked(
    actor: Who = None, action: Text = None, object: Id = None, training: Id = None
) -> Filters:
    """The filters the API and the page read alike; each adds the host country and the days
    itself (the page takes them as typed into its form, and says what it cannot read)."""
    return Filters(actor, action, object, training)


# The handlers' `asked`; its query parameters are theirs in the OpenAPI description.
ASKED = {"asked": Provide(asked, sync_to_thread=False)}


@secretariat_get("/audit", operation_id="listAuditLog", tags=["audit"], dependencies=ASKED)
async def list_audit_log(
    db: DB,
    asked: Filters,
    country: Country = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = PAGE,
    offset: Offset = 0,
) -> EntryList:
    """Staff actions on this service (secretariat), newest first. Filters: `who` (the staff
    member's e-mail contains), `action` (starts with, e.g. `registration.`), `object` (an
    object's or training's id), `training`, `country` (host country), `from` and `to`
    (UTC days, inclusive)."""
    filters = replace(asked, country=country, since=since, until=until)
    async with db.session() as session:
        return await entries(session, filters, limit, offset)


UNREADABLE_DAY = "not a day: write it as YYYY-MM-DD, e.g. 2026-03-31"


def _days(**fields: str | None) -> tuple[dict[str, date | None], dict[str, str]]:
    """A page's date fields: each a day or nothing when empty, and a message per field
    that holds something unreadable (typed into a browser without a date picker)."""
    days: dict[str, date | None] = {}
    errors: dict[str, str] = {}
    for name, text in fields.items():
        try:
            days[name] = date.fromisoformat(text.strip()) if text and text.strip() else None
        except ValueError:
            days[name] = None
            errors[name] = UNREADABLE_DAY
    return days, errors


@get("/staff/audit", operation_id="auditLogPage", include_in_schema=False, dependencies=ASKED)
async def audit_page(
    request: Request[Any, Any, Any],
    db: DB,
    asked: Filters,
    country: Text = None,
    since: Annotated[str | None, QueryParameter(name="from", max_length=40)] = None,
    until: Annotated[str | None, QueryParameter(name="to", max_length=40)] = None,
    offset: Offset = 0,
) -> Template | Redirect:
    """The audit log page (secretariat): filters, newest first, a hundred entries a page."""
    staff = staff_or_none(request)
    if staff is None:
        return sign_in_again(request)
    if not staff.is_secretariat:
        return Template(
            template_name="audit.html",
            context={"refused": "Only the secretariat reads the audit log."},
            status_code=403,
        )
    code = (country or "").strip().upper()[:2] or None
    days, errors = _days(**{"from": since, "to": until})
    if errors:
        # A filter that cannot be read lists nothing rather than more than was asked.
        found = EntryList(items=[], total=0, limit=PAGE, offset=0)
    else:
        filters = replace(asked, country=code, since=days["from"], until=days["to"])
        async with db.session() as session:
            found = await entries(session, filters, PAGE, offset)
    query = {
        "who": asked.actor or "",
        "action": asked.action or "",
        "object": asked.object_id or "",
        "training": asked.training_id or "",
        "country": code or "",
        "from": since or "",
        "to": until or "",
    }
    kept = {key: value for key, value in query.items() if value}
    return Template(
        template_name="audit.html",
        status_code=422 if errors else 200,
        context={
            "refused": None,
            "errors": errors,
            "found": found,
            "query": query,
            "first": offset + 1,
            "last": offset + len(found.items),
            "newer": urlencode(kept | {"offset": max(0, offset - PAGE)}) if offset else None,
            "older": urlencode(kept | {"offset": offset + PAGE})
            if offset + PAGE < found.total
            else None,
        },
    )


ROUTES = [list_audit_log, audit_page]
