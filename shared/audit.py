"""The audit log of staff actions: commands say what they audit, `shared.commands.execute`
writes the entry in the command's own unit of work, erasure empties what it held of a
participant, and the secretariat reads it with filters (shared.audit_pages)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

import msgspec
from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import clock
from shared.db import UnitOfWork
from shared.staff import Staff
from shared.structs import carried
from shared.tables import audit_log

AUDIT = "__audit__"
C = TypeVar("C")


@dataclass(frozen=True)
class Target:
    """The object of a staff action, and what the entry says about it.

    `detail` must hold no participant's personal data (ids, counts, statuses, staff
    e-mails are fine). Words the action carried to or about one participant go in
    `personal`, with `person` (the participant's id) or a registration as the object, so
    that erasing them empties it."""

    kind: str
    id: str
    training_id: str | None = None
    host_country: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    person: str | None = None
    personal: Mapping[str, Any] | None = None


# How a command finds its object: from its unit of work, its input and its result.
Describe = Callable[[UnitOfWork, Any, Any], Awaitable[Target]]


@dataclass(frozen=True)
class Audited:
    action: str
    about: Describe


def audited(action: str, about: Describe) -> Callable[[C], C]:
    """Mark a command as a staff action: when staff run it through `execute` and it
    succeeds, an entry `action` on `await about(uow, input, result)` is written with it."""

    def mark(command: C) -> C:
        setattr(command, AUDIT, Audited(action, about))
        return command

    return mark


def audit_of(command: object) -> Audited | None:
    found = getattr(command, AUDIT, None)
    return found if isinstance(found, Audited) else None


def _json(value: Mapping[str, Any] | None) -> str | None:
    return None if value is None else msgspec.json.encode(dict(value)).decode()


def record(uow: UnitOfWork, actor: str, role: str, action: str, target: Target) -> None:
    """Queue an entry in this unit of work (written with it, or not at all)."""
    uow.queue(
        "audit",
        {
            "at": clock.now(),
            "actor": actor,
            "role": role,
            "action": action,
            "object_kind": target.kind,
            "object_id": target.id,
            "training_id": target.training_id,
            "host_country": target.host_country,
            "detail": _json(target.detail),
            "person": target.person,
            "personal": _json(target.personal) if target.personal else None,
        },
    )


async def record_command(
    uow: UnitOfWork, command: object, who: Staff | None, input: Any, result: Any
) -> None:
    """The entry of a command `execute` has just run, when staff ran an audited one."""
    audit = audit_of(command)
    if audit is None or who is None:
        return
    record(uow, who.sub, who.role, audit.action, await audit.about(uow, input, result))


async def forget_person(uow: UnitOfWork, person: str) -> None:
    """Erasure: empty what the entries held of this participant; the entries stay."""
    await _empty(uow, (audit_log.c.person == person))


async def forget_objects(uow: UnitOfWork, kind: str, ids: Sequence[str]) -> None:
    """Erasure of objects that held personal data (registrations): the same for entries
    about them."""
    if not ids:
        return
    await _empty(uow, (audit_log.c.object_kind == kind) & audit_log.c.object_id.in_(list(ids)))


async def _empty(uow: UnitOfWork, which: Any) -> None:
    emptied = await uow.execute(
        update(audit_log)
        .where(which)
        .where(audit_log.c.personal.is_not(None))
        .values(personal=None)
    )
    if emptied.rowcount:
        # The old row versions must not linger in the SQLite WAL either.
        uow.forget_after_commit()


# --- reading ---------------------------------------------------------------------------


class Entry(msgspec.Struct):
    id: int
    at: datetime
    actor: str
    role: str
    action: str
    object_kind: str
    object_id: str
    training_id: str | None
    host_country: str | None
    detail: dict[str, Any]
    personal: dict[str, Any] | None


class EntryList(msgspec.Struct):
    items: list[Entry]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class Filters:
    """What the secretariat narrows the log to; `since` and `until` are UTC days, inclusive."""

    actor: str | None = None
    action: str | None = None
    object_id: str | None = None
    training_id: str | None = None
    country: str | None = None
    since: date | None = None
    until: date | None = None

    def apply(self, query: Select[Any]) -> Select[Any]:
        c = audit_log.c
        if self.actor:
            query = query.where(
                func.lower(c.actor).contains(self.actor.strip().lower(), autoescape=True)
            )
        if self.action:
            query = query.where(c.action.startswith(self.action.strip(), autoescape=True))
        if self.object_id:
            wanted = self.object_id.strip()
            query = query.where((c.object_id == wanted) | (c.training_id == wanted))
        if self.training_id:
            query = query.where(c.training_id == self.training_id.strip())
        if self.country:
            query = query.where(c.host_country == self.country.strip().upper())
        if self.since:
            query = query.where(c.at >= datetime.combine(self.since, time(), UTC))
        if self.until:
            end = datetime.combine(self.until + timedelta(days=1), time(), UTC)
            query = query.where(c.at < end)
        return query


def _entry(row: Any) -> Entry:
    detail = msgspec.json.decode(row.detail) if row.detail else {}
    personal = msgspec.json.decode(row.personal) if row.personal else None
    return carried(Entry, row, detail=detail, personal=personal)


async def entries(session: Any, filters: Filters, limit: int, offset: int) -> EntryList:
    """The entries that match, newest first, one page of them and how many match in all."""
    # SQLAlchemy's execute, not sqlmodel's deprecated override of it, for Core statements.
    run = AsyncSession.execute
    total = (
        await run(session, filters.apply(select(func.count()).select_from(audit_log)))
    ).scalar_one()
    rows = await run(
        session,
        filters.apply(select(audit_log))
        .order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
        .limit(limit)
        .offset(offset),
    )
    return EntryList(items=[_entry(row) for row in rows], total=total, limit=limit, offset=offset)
