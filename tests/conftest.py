"""Fixtures: database kinds (SQLite always; PostgreSQL, which CI must have) and a running system."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.clock import clock
from tests.support import System, postgres_available, running_system

_PG: bool | None = None


def _postgres() -> bool:
    global _PG
    if _PG is None:
        _PG = postgres_available()
    return _PG


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    if kind == "postgres" and not _postgres():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not reachable, and CI must run the PostgreSQL tests")
        pytest.skip("PostgreSQL is not reachable")
    return kind


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
