"""Fixtures: database kinds (SQLite always; PostgreSQL, which CI must have) and a running system."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.clock import clock
from tests.support import DATABASE_KINDS, System, database_kind, running_system


@pytest.fixture(params=DATABASE_KINDS)
def db_kind(request: pytest.FixtureRequest) -> str:
    return database_kind(request.param)


@pytest.fixture(autouse=True)
def reset_clock() -> None:
    clock.reset()
    yield
    clock.reset()


@pytest.fixture
async def system(tmp_path: Path) -> AsyncIterator[System]:
    async with running_system(tmp_path) as running:
        yield running


@pytest.fixture
async def any_system(tmp_path: Path, db_kind: str) -> AsyncIterator[System]:
    """The system on SQLite and again on PostgreSQL."""
    async with running_system(tmp_path, db_kind) as running:
        yield running
