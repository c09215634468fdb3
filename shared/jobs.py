"""Periodic work for the life of a service: one loop that survives a failed pass."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from shared.clock import clock
from shared.wakeups import Wakeup

if TYPE_CHECKING:
    from shared.service import Runtime

log = logging.getLogger(__name__)

Job = Callable[["Runtime"], Coroutine[Any, Any, None]]
# One pass of a job's work.
Work = Callable[["Runtime"], Awaitable[object]]


async def _one_pass(name: str, work: Work, runtime: Runtime) -> None:
    """Run `work` once; a failure is logged, and the next pass starts from what is committed."""
    try:
        await work(runtime)
    except Exception:
        log.exception("%s failed; retrying", name)


def periodic(name: str, every: float, work: Work) -> Job:
    """A job for `ServiceSpec.jobs` that runs `work(runtime)` every `every` seconds.

    A failed pass is logged and the next one starts from what is committed: several
    instances may run the same job side by side, and a unique key stops double work."""

    async def job(runtime: Runtime) -> None:
        while True:
            await _one_pass(name, work, runtime)
            await asyncio.sleep(every)

    job.__name__ = name.replace(" ", "_")
    return job


def on_change(name: str, work: Work, *, spacing: float, idle: float) -> Job:
    """A job that runs `work(runtime)` when something may have made work due: a commit of
    this process, the clock moved (tests), or `idle` seconds without either; and never
    twice within `spacing` seconds. Idle, it costs one pass per `idle` seconds, not a
    poll; busy, one pass per `spacing` at most."""

    async def job(runtime: Runtime) -> None:
        wakeup = Wakeup()
        stop_watching = (runtime.db.watch_commits(wakeup.set), clock.watch(wakeup.set))
        try:
            while True:
                await _one_pass(name, work, runtime)
                await asyncio.sleep(spacing)
                await wakeup.wait(idle)
        finally:
            for stop in stop_watching:
                stop()

    job.__name__ = name.replace(" ", "_")
    return job
