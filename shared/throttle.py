"""Rate limit of public write routes, set by CAPITALS_RATE_LIMIT, counted in the service's
database so that every instance and worker of the service shares one count per client."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import math
import time
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from litestar import Request
from litestar.exceptions import NotAuthorizedException, TooManyRequestsException
from litestar.middleware import DefineMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy import case, delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shared.auth import staff_of
from shared.tables import rate_limit

if TYPE_CHECKING:
    from shared.db import Database, UnitOfWork

log = logging.getLogger(__name__)

WINDOW_MS = 60_000


def client_key(secret: str, address: str) -> str:
    """The client as stored: a keyed hash of its address (the table holds no address)."""
    return hmac.new(secret.encode(), address.encode(), hashlib.sha256).hexdigest()


async def count_hits(uow: UnitOfWork, client: str, hits: int, now_ms: int) -> tuple[int, int]:
    """Count `hits` requests of `client`; its hits in the current window, these included,
    and when that window began (ms).

    One statement, so two instances counting the same client at once cannot both read the
    old count: an upsert that starts a new window when the old one is over."""
    table = rate_limit
    expired = table.c.window_start <= now_ms - WINDOW_MS
    postgresql = uow.session.bind.dialect.name == "postgresql"  # type: ignore[union-attr]
    insert: Any = (postgresql_insert if postgresql else sqlite_insert)(table)
    statement = (
        insert.values(client=client, window_start=now_ms, hits=hits)
        .on_conflict_do_update(
            index_elements=[table.c.client],
            set_={
                # Both read the row as it was before this update (SQL's rule, on both
                # databases).
                "hits": case((expired, hits), else_=table.c.hits + hits),
                "window_start": case((expired, now_ms), else_=table.c.window_start),
            },
        )
        .returning(table.c.hits, table.c.window_start)
    )
    row = (await uow.execute(statement)).one()
    return int(row.hits), int(row.window_start)


async def prune(db: Database, now_ms: int) -> None:
    """Forget the clients whose window is over."""
    async with db.unit() as uow:
        await uow.execute(delete(rate_limit).where(rate_limit.c.window_start <= now_ms - WINDOW_MS))


Counted = tuple[int, int]


class HitCounter:
    """The rate limit's writes, many requests to one transaction: a request's count waits
    for the transaction in progress to end and goes into the next, with every other request
    that arrived meanwhile (on SQLite, one write transaction per request would queue behind
    the registrations' own writer and halve their rate).

    Each request learns its own place in its client's count: the n requests of one client
    in a transaction that brings the count to T are T-n+1 … T."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # Per event loop: a future waits on the loop that made it (tests serve one app from
        # two loops).
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue] = (
            weakref.WeakKeyDictionary()
        )
        self._pruned_at = 0

    async def hit(self, client: str) -> Counted:
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _Queue()
        future: asyncio.Future[Counted] = loop.create_future()
        queue.waiting.setdefault(client, []).append(future)
        if queue.writer is None or queue.writer.done():
            queue.writer = loop.create_task(self._write(queue))
        return await future

    async def _write(self, queue: _Queue) -> None:
        while queue.waiting:
            batch, queue.waiting = queue.waiting, {}
            now_ms = int(time.time() * 1000)
            try:
                async with self.db.unit() as uow:
                    # In one order on every instance, so that two transactions on
                    # PostgreSQL never wait for each other's rows crosswise.
                    counted = {
                        client: await count_hits(uow, client, len(batch[client]), now_ms)
                        for client in sorted(batch)
                    }
            except Exception as exc:
                for futures in batch.values():
                    for future in futures:
                        if not future.done():
                            future.set_exception(exc)
                continue
            for client, futures in batch.items():
                total, started = counted[client]
                for place, future in enumerate(futures, start=total - len(futures) + 1):
                    if not future.done():
                        future.set_result((place, started))
            if now_ms - self._pruned_at > WINDOW_MS:
                self._pruned_at = now_ms
                try:
                    await prune(self.db, now_ms)
                except Exception:
                    log.warning("rate limit rows not pruned; trying again later", exc_info=True)


@dataclass
class _Queue:
    waiting: dict[str, list[asyncio.Future[Counted]]] = field(default_factory=dict)
    writer: asyncio.Task[None] | None = None


class Throttle:
    """At most `CAPITALS_RATE_LIMIT` public writes per client per minute (0 turns it off),
    counted from the client's first request; then 429 with Retry-After until the minute
    is over. Staff (a valid token) are not throttled: they register people on others'
    behalf."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = scope["litestar_app"]
        limit: int = app.state.settings.rate_limit
        request: Request[Any, Any, Any] = Request(scope)
        if limit == 0 or not _public(request):
            await self.app(scope, receive, send)
            return
        counter: HitCounter = app.state.runtime.rate_limit
        # The address shared.proxies settled on: the peer, or the client behind a trusted
        # proxy.
        address = request.client.host if request.client else "unknown"
        hits, started = await counter.hit(client_key(app.state.settings.secret, address))
        if hits > limit:
            now_ms = int(time.time() * 1000)
            wait = max(1, math.ceil((started + WINDOW_MS - now_ms) / 1000))
            raise TooManyRequestsException(
                detail=f"too many requests from your address; try again in {wait} s",
                headers={"Retry-After": str(wait)},
            )
        await self.app(scope, receive, send)


def _public(request: Request[Any, Any, Any]) -> bool:
    try:
        return staff_of(request) is None
    except NotAuthorizedException:
        return True


# Keyed on the client address, which shared.proxies sets from X-Forwarded-For only behind
# CAPITALS_TRUSTED_PROXIES; the per-minute count comes from the settings at run time.
THROTTLE = DefineMiddleware(Throttle)
