"""Group commit: one writer task applies queued writes in batches, one transaction per batch.

Why: SQLite commits one transaction at a time, and each transaction through async
SQLAlchemy costs a few round trips to the driver's thread whatever it writes. A rush of
registrations therefore goes through one writer that takes everything queued since its
last commit and applies it in one transaction, in arrival order; each request awaits its
own outcome. Under light load a batch is a single request, so latency does not grow; under
heavy load batches grow and the cost per request falls. PostgreSQL gains the same way
(fewer commits, fewer round trips). Nothing here knows about registrations or HTTP: a
refusal is a `shared.errors` error (a stopped writer is `Unavailable`), and a failed write
is a `RuntimeError` its caller answers as an internal error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from shared.db import Database, UnitOfWork
from shared.errors import Unavailable
from shared.metrics import BATCH_SIZE
from shared.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

# Applies a batch in one transaction with the service's settings and returns, per item and
# in order, its result or the exception its caller should get (a `shared.errors` error,
# say). Raising instead rolls the whole batch back; the items are then tried one by one, so
# one bad item cannot sink the others.
Apply = Callable[[UnitOfWork, Settings, Sequence[T]], Awaitable[Sequence[R | BaseException]]]


class GroupCommit(Generic[T, R]):
    """Queue writes from many requests; commit them together from one task."""

    def __init__(self, apply: Apply[T, R], *, max_batch: int = 256) -> None:
        self.apply = apply
        self.max_batch = max_batch
        self._queue: asyncio.Queue[tuple[T, asyncio.Future[R]]] | None = None
        self._running = False
        self._settings: Settings | None = None
        self.batches = 0
        self.items = 0

    async def submit(self, item: T) -> R:
        """Queue `item` and wait until the transaction that applied it has committed."""
        if not self._running or self._queue is None:
            raise Unavailable("the service is starting or stopping; try again shortly")
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((item, future))
        return await future

    async def run(self, db: Database, settings: Settings) -> None:
        """The writer; runs for the life of the service."""
        self._settings = settings
        self._queue = asyncio.Queue()
        self._running = True
        try:
            while True:
                batch = [await self._queue.get()]
                while len(batch) < self.max_batch and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                live = [(item, future) for item, future in batch if not future.done()]
                if live:
                    await self._commit(db, live)
        finally:
            self._running = False
            while not self._queue.empty():
                _, future = self._queue.get_nowait()
                if not future.done():
                    future.set_exception(Unavailable("the service is stopping; try again"))

    async def _commit(self, db: Database, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._apply(db, [item for item, _ in batch])
        except asyncio.CancelledError:
            for _, future in batch:
                if not future.done():
                    future.set_exception(Unavailable("the service is stopping; try again"))
            raise
        except Exception:
            if len(batch) == 1:
                log.exception("write failed")
                _settle(batch[0][1], RuntimeError("internal error"))
                return
            log.warning("batch of %d rolled back; applying its items one by one", len(batch))
            for one in batch:
                await self._commit(db, [one])
            return
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result)

    async def _apply(self, db: Database, items: list[T]) -> Sequence[R | BaseException]:
        if self._settings is None:
            raise RuntimeError("the writer runs without settings")
        async with db.unit() as uow:
            results = await self.apply(uow, self._settings, items)
        if len(results) != len(items):
            raise RuntimeError("apply must return one result per item")
        self.batches += 1
        self.items += len(items)
        BATCH_SIZE.observe(len(items))
        return results


def _settle(future: asyncio.Future[R], result: R | BaseException) -> None:
    if future.done():  # the caller went away (client disconnected)
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
