"""Each service's OpenAPI description matches what it answers, checked by Schemathesis."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from capitals.embedded import free_port
from shared.auth import issue_token
from shared.migrations import upgrade
from shared.settings import SERVICES
from tests.support import SECRET, NatsServer

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Enough to reach every documented answer of a route; bounded so a service takes seconds.
EXAMPLES = 25
CALLERS = ("anonymous", "secretariat")
SEEN: dict[str, set[int]] = {}
SERVE = [sys.executable, "-m", "capitals.cli", "serve"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The three services as `capitals serve` runs them, over a real broker and SQLite."""
    root = tmp_path_factory.mktemp("openapi")
    broker = NatsServer(root / "nats")
    broker.start()
    ports = {service: free_port() for service in SERVICES}
    urls = {service: f"http://127.0.0.1:{port}" for service, port in ports.items()}
    env = {
        **os.environ,
        "CAPITALS_DATA_DIR": str(root / "data"),
        "NATS_URL": broker.url,
        "CAPITALS_SECRET": SECRET,
        "CAPITALS_RATE_LIMIT": "0",
        "CAPITALS_LOG_LEVEL": "WARNING",
    }
    for service in SERVICES:
        database_url = f"sqlite+aiosqlite:///{root / service}.sqlite3"
        upgrade(service, database_url)
        env[f"{service.upper()}_DATABASE_URL"] = database_url
        env[f"{service.upper()}_PUBLIC_URL"] = urls[service]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for service in SERVICES:
            log = (root / f"{service}.log").open("wb")
            processes.append(
                subprocess.Popen(
                    [*SERVE, service, "--port", str(ports[service])],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        for service, url in urls.items():
            _wait_ready(url, root / f"{service}.log")
        yield Served(urls, *_seed(urls))
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        broker.stop()


@dataclass
class Served:
    urls: dict[str, str]
    # Path parameters naming objects that exist, so that answers other than 404 are met.
    known: dict[str, str]
    manage_token: str


def _seed(urls: dict[str, str]) -> tuple[dict[str, str], str]:
    """A published training with a session, in a series, and one registration for it."""
    staff = {"Authorization": f"Bearer {issue_token(SECRET, role='secretariat')}"}
    day = date.today() + timedelta(days=60)
    with httpx.Client(base_url=urls["scheduling"], headers=staff, timeout=10) as scheduling:
        training = (
            scheduling.post(
                "/trainings",
                json={
                    "series": "openapi",
                    "title": "Described",
                    "host_country": "EE",
                    "venue": "Tallinn",
                    "starts_on": day.isoformat(),
                    "ends_on": day.isoformat(),
                    "capacity": 5,
                },
            )
            .raise_for_status()
            .json()
        )
        session = (
            scheduling.post(
                f"/trainings/{training['id']}/sessions",
                json={
                    "title": "Opening",
                    "kind": "lecture",
                    "starts_at": f"{day}T10:00:00",
                    "ends_at": f"{day}T11:00:00",
                },
            )
            .raise_for_status()
            .json()
        )
        scheduling.post(f"/trainings/{training['id']}/publish").raise_for_status()
    with httpx.Client(base_url=urls["registration"], timeout=10) as registration:
        deadline = time.monotonic() + 20
        while registration.get(f"/trainings/{training['id']}").status_code != 200:
            assert time.monotonic() < deadline, "the training never reached registration"
            time.sleep(0.1)
        registered = (
            registration.post(
                f"/trainings/{training['id']}/registrations",
                json={
                    "name": "Mari Tamm",
                    "email": "mari.tamm@mfa.ee",
                    "organisation": "Ministry of Foreign Affairs of Estonia",
                    "position": "Consul",
                    "country": "EE",
                    "consent": True,
                },
            )
            .raise_for_status()
            .json()
        )
    feed_file = registered["calendar_url"].rsplit("/", 1)[1]
    known = {
        "training_id": training["id"],
        "session_id": session["id"],
        "slug": "openapi",
        "series": "openapi",
        "registration_id": registered["id"],
        "feed_file": feed_file,
    }
    return known, registered["manage_token"]


def _wait_ready(url: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not become ready:\n{log.read_text(errors='replace')}")


@pytest.fixture(
    scope="module",
    params=[(service, caller) for service in SERVICES for caller in CALLERS],
    ids=lambda param: "-".join(param),
)
def contract(request: pytest.FixtureRequest, served: Served) -> tuple[Any, dict[str, str], Served]:
    service, caller = request.param
    url = served.urls[service]
    headers = {}
    if caller == "secretariat":
        headers["Authorization"] = f"Bearer {issue_token(SECRET, role='secretariat')}"
    return schemathesis.openapi.from_url(f"{url}/schema/openapi.json"), headers, served


def examples_of(operation: Any, served: Served) -> Any:
    """Valid and invalid requests, and valid ones about the objects that exist."""
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    names = re.findall(r"{(\w+)}", operation.path)
    if names and all(name in served.known for name in names):
        parameters = operation.definition.raw.get("parameters", [])
        headers = (
            {"X-Manage-Token": served.manage_token}
            if any(p.get("name") == "X-Manage-Token" for p in parameters)
            else None
        )
        strategies.append(
            operation.as_strategy(
                GenerationMode.POSITIVE,
                path_parameters={name: served.known[name] for name in names},
                headers=headers,
            )
        )
    return st.one_of(strategies)


def test_every_answer_is_described(contract: tuple[Any, dict[str, str], Served]) -> None:
    """Examples of every operation; every failure is gathered, so one run lists all that
    differ rather than the first."""
    schema, headers, served = contract
    failures: dict[str, str] = {}
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=examples_of(operation, served))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
        )
        def check(case: Any) -> None:
            try:
                response = case.call_and_validate(headers=headers, checks=CHECKS)
                SEEN.setdefault(case.operation.label, set()).add(response.status_code)
            except FailureGroup as group:
                for failure in group.exceptions:
                    key = f"{case.operation.label}: {failure.title}: {failure.message}"
                    failures.setdefault(key, f"{key}\n    {case.as_curl_command()}")

        check()
    print("\nSEEN", headers != {}, {k: sorted(v) for k, v in SEEN.items()})
    SEEN.clear()
    assert not failures, "\n\n".join(failures.values())
