"""Rows copied from another service's events move only forward; periodic jobs and execute()."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from shared.commands import execute
from shared.db import Database, UnitOfWork
from shared.errors import Conflict
from shared.jobs import periodic
from shared.revisions import held, upsert_if_newer
from shared.settings import Settings, load_settings
from shared.staff import Staff
from shared.tables import infrastructure


class Local(SQLModel, registry=registry()):
    """A registry of its own, as each service's tables have."""


class Copy(Local, table=True):
    __tablename__ = "revisions_test_copy"

    id: str = Field(primary_key=True)
    title: str
    kind: str = "lecture"
    revision: int


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'copies.sqlite3'}"
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(infrastructure.create_all)
        await connection.run_sync(Copy.metadata.create_all, tables=[Copy.__table__])
    await engine.dispose()
    database = Database(url)
    yield database
    await database.dispose()


async def test_upsert_creates_then_keeps_only_newer_revisions(db: Database) -> None:
    async with db.unit() as uow:
        row = await upsert_if_newer(uow, Copy, "s1", 2, {"title": "B"}, create={"kind": "panel"})
        assert row is not None and (row.title, row.kind) == ("B", "panel")
    async with db.unit() as uow:
        # An older or repeated event is no news.
        assert await upsert_if_newer(uow, Copy, "s1", 1, {"title": "A"}) is None
        assert await upsert_if_newer(uow, Copy, "s1", 2, {"title": "A"}) is None
        newer = await upsert_if_newer(uow, Copy, "s1", 3, {"title": "C"}, for_update=True)
        assert newer is not None
    async with db.unit() as uow:
        found, news = await held(uow, Copy, "s1", 3)
        assert found is not None and (found.title, found.kind, found.revision) == ("C", "panel", 3)
        assert news is False
        assert await held(uow, Copy, "s2", 1) == (None, True)


async def test_execute_runs_a_command_in_one_unit_of_work(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings({"CAPITALS_DATA_DIR": str(tmp_path)})
    who = Staff(sub="s", role="secretariat", countries=frozenset())

    async def rename(uow: UnitOfWork, settings: Settings, who: Staff | None, title: str) -> str:
        uow.session.add(Copy(id="s9", title=title, revision=1))
        return f"{who.sub if who else '-'}:{title}"

    async def refuse(uow: UnitOfWork, settings: Settings, who: Staff | None, title: str) -> str:
        uow.session.add(Copy(id="s8", title=title, revision=1))
        raise Conflict("not now", field="title")

    assert await execute(db, rename, settings, who, "Kept") == "s:Kept"
    with caplog.at_level(logging.INFO), pytest.raises(Conflict):
        await execute(db, refuse, settings, None, "Lost")
    assert "command refuse refused: not now" in caplog.text
    async with db.unit() as uow:
        assert (await held(uow, Copy, "s9", 1))[0] is not None
        assert (await held(uow, Copy, "s8", 1))[0] is None


async def test_a_periodic_job_survives_a_failed_pass(caplog: pytest.LogCaptureFixture) -> None:
    passes: list[int] = []

    async def work(runtime: Any) -> None:
        passes.append(len(passes))
        if len(passes) == 1:
            raise RuntimeError("first pass fails")

    job = periodic("test sweep", 0.01, work)
    task = asyncio.create_task(job(SimpleNamespace()))
    await asyncio.sleep(0.2)
    task.cancel()
    assert len(passes) >= 3
    assert "test sweep failed; retrying" in caplog.text
