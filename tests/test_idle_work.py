"""Background work waits for a reason instead of polling: a commit, the clock moved, or a long
idle interval that still bounds how late it can be."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared import staff_directory
from shared.clock import clock
from shared.db import Database
from shared.events import contracts as ev
from shared.jobs import on_change
from shared.migrations import upgrade
from shared.staff_directory import StaffDirectory, record
from tests.support import eventually


@pytest.fixture
async def two_instances(tmp_path: Path) -> AsyncIterator[tuple[Database, Database]]:
    """Two connections to one service database, as two instances of the service hold."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'registration.sqlite3'}"
    await asyncio.to_thread(upgrade, "registration", url)
    here, there = Database(url), Database(url)
    try:
        yield here, there
    finally:
        await here.dispose()
        await there.dispose()


async def revoke(db: Database, email: str, revision: int = 1) -> None:
    async with db.unit() as uow:
        await record(
            uow,
            ev.StaffChanged(id=email, revision=revision, email=email, revoked=True),
        )


def test_a_revocation_reaches_every_instance_within_a_minute() -> None:
    # The other instances reread the table this often; the event's trip is seconds.
    assert staff_directory.REFRESH_SECONDS <= 30


async def test_the_instance_that_applies_a_staff_change_rereads_at_once(
    two_instances: tuple[Database, Database],
) -> None:
    here, _ = two_instances
    directory = StaffDirectory()
    task = asyncio.create_task(directory.run(here))
    try:
        await asyncio.sleep(0.05)
        started = time.monotonic()
        await revoke(here, "ana@example.org")

        async def seen() -> bool:
            listing = directory.get("ana@example.org")
            return listing is not None and listing.revoked

        await eventually(seen, timeout=5)
        assert time.monotonic() - started < staff_directory.REFRESH_SECONDS / 10
    finally:
        task.cancel()


async def test_another_instances_staff_change_is_read_at_the_next_refresh(
    two_instances: tuple[Database, Database],
) -> None:
    here, there = two_instances
    directory = StaffDirectory()
    task = asyncio.create_task(directory.run(here, every=0.3))
    try:
        await asyncio.sleep(0.05)
        await revoke(there, "ben@example.org")

        async def seen() -> bool:
            return directory.get("ben@example.org") is not None

        await eventually(seen, timeout=5)
    finally:
        task.cancel()


class Counting:
    def __init__(self) -> None:
        self.passes = 0

    async def __call__(self, runtime: Any) -> None:
        self.passes += 1


async def test_a_job_on_change_runs_after_a_commit_or_a_clock_move_and_is_quiet_otherwise(
    two_instances: tuple[Database, Database],
) -> None:
    here, there = two_instances
    work = Counting()
    runtime = type("Runtime", (), {"db": here})()
    job = on_change("counting", work, spacing=0.05, idle=3600)
    task = asyncio.create_task(job(runtime))  # type: ignore[arg-type]
    try:
        await eventually(lambda: _at_least(work, 1))
        await asyncio.sleep(0.3)
        assert work.passes == 1  # idle: no poll
        # Another instance's commit is not this process's business: it has its own job.
        await revoke(there, "cy@example.org")
        await asyncio.sleep(0.3)
        assert work.passes == 1
        await revoke(here, "dee@example.org")
        await eventually(lambda: _at_least(work, 2))
        clock.set(datetime.now(UTC) + timedelta(days=7))
        await eventually(lambda: _at_least(work, 3))
        await asyncio.sleep(0.3)
        assert work.passes == 3
    finally:
        task.cancel()
        clock.reset()


async def _at_least(work: Counting, passes: int) -> bool:
    return work.passes >= passes
