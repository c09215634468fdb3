"""Fixtures: database kinds (SQLite always; PostgreSQL, which CI must have) and a running system."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.clock import clock
from shared.settings import SERVICES
from tests.support import DATABASE_KINDS, NatsServer, System, database_kind, running_system


@pytest.fixture(params=DATABASE_KINDS)
def db_kind(request: pytest.FixtureRequest) -> str:
    return database_kind(request.param)


@pytest.fixture(autouse=True)
def reset_clock() -> None:
    clock.reset()
    yield
    clock.reset()


@pytest.fixture
async def system(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[System]:
    """The three services, or those a `services` mark names, on SQLite."""
    marked = request.node.get_closest_marker("services")
    services = marked.args if marked is not None else SERVICES
    async with running_system(tmp_path, services=services) as running:
        yield running


@pytest.fixture
async def evaluation(tmp_path: Path) -> AsyncIterator[System]:
    """Evaluation alone, on SQLite."""
    async with running_system(tmp_path, services=("evaluation",)) as running:
        yield running


@pytest.fixture
async def any_evaluation(tmp_path: Path, db_kind: str) -> AsyncIterator[System]:
    """Evaluation alone, on SQLite and again on PostgreSQL."""
    async with running_system(tmp_path, db_kind, services=("evaluation",)) as running:
        yield running


@pytest.fixture
async def any_registration(tmp_path: Path, db_kind: str) -> AsyncIterator[System]:
    """Registration alone, on SQLite and again on PostgreSQL (CI=1)."""
    async with running_system(tmp_path, db_kind, services=("registration",)) as running:
        yield running


@pytest.fixture
async def any_system(tmp_path: Path, db_kind: str) -> AsyncIterator[System]:
    """The system on SQLite and again on PostgreSQL."""
    async with running_system(tmp_path, db_kind) as running:
        yield running


@pytest.fixture
def broker_server(tmp_path: Path) -> NatsServer:
    """A NATS server of its own, with JetStream, for the tests of the bus."""
    server = NatsServer(tmp_path / "nats")
    server.start()
    yield server
    server.stop()
