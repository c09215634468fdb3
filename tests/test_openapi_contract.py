"""Each service's OpenAPI description matches what it answers, checked by Schemathesis."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
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
SERVE = [sys.executable, "-m", "capitals.cli", "serve"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
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
        yield urls
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
def contract(request: pytest.FixtureRequest, served: dict[str, str]) -> tuple[Any, dict[str, str]]:
    service, caller = request.param
    url = served[service]
    headers = {}
    if caller == "secretariat":
        headers["Authorization"] = f"Bearer {issue_token(SECRET, role='secretariat')}"
    return schemathesis.openapi.from_url(f"{url}/schema/openapi.json"), headers


def test_every_answer_is_described(contract: tuple[Any, dict[str, str]]) -> None:
    """Positive and negative examples of every operation; every failure is gathered, so one
    run lists all that differ rather than the first."""
    schema, headers = contract
    failures: dict[str, str] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        strategy = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @given(case=strategy)
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
                case.call_and_validate(headers=headers, checks=CHECKS)
            except FailureGroup as group:
                for failure in group.exceptions:
                    key = f"{case.operation.label}: {failure.title}: {failure.message}"
                    failures.setdefault(key, f"{key}\n    {case.as_curl_command()}")

        check()
    assert not failures, "\n\n".join(failures.values())
