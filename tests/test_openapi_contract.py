"""Each service's OpenAPI description matches what it answers, checked by Schemathesis."""

from __future__ import annotations

import email
import email.policy
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

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
from deploy.loopback import terminate
from shared.migrations import upgrade
from shared.service import MAX_BODY
from shared.settings import SERVICES
from tests.registration_support import PERSON
from tests.servers import Command, wait_ready
from tests.support import SECRET, NatsServer, settings_for, staff_headers

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Enough to reach every documented answer of a route; bounded so a service takes seconds.
EXAMPLES = 25
# Who calls: nobody, the secretariat, and an organiser of another country than the seeded
# training's (so the 403s are met too).
CALLERS: dict[str, dict[str, Any] | None] = {
    "anonymous": None,
    "secretariat": {"role": "secretariat"},
    "organiser": {"role": "organiser", "countries": ["LV"]},
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The three services as `capitals serve` runs them, over a real broker and SQLite."""
    root = tmp_path_factory.mktemp("openapi")
    broker = NatsServer(root / "nats")
    broker.start()
    ports = {service: free_port() for service in SERVICES}
    urls = {service: f"http://127.0.0.1:{port}" for service, port in ports.items()}
    env = {
        "CAPITALS_DATA_DIR": str(root / "data"),
        "NATS_URL": broker.url,
        "CAPITALS_SECRET": SECRET,
        # Low enough that the anonymous runs of the throttled routes meet their 429 too.
        "CAPITALS_RATE_LIMIT": "40",
        "CAPITALS_LOG_LEVEL": "WARNING",
        # Mail goes to files in the data folder, where the invitation link is read back.
        "SMTP_URL": "",
    }
    for service in SERVICES:
        database_url = f"sqlite+aiosqlite:///{root / service}.sqlite3"
        upgrade(service, database_url)
        env[f"{service.upper()}_DATABASE_URL"] = database_url
        env[f"{service.upper()}_PUBLIC_URL"] = urls[service]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for service in SERVICES:
            log = root / f"{service}.log"
            processes.append(Command(service, ports[service], env, log).start())
        for process, (service, url) in zip(processes, urls.items(), strict=True):
            wait_ready(url, process, root / f"{service}.log")
        yield Served(urls, *_seed(urls, root / "data" / "mail"))
    finally:
        for process in processes:
            terminate(process)
        broker.stop()


@dataclass
class Served:
    urls: dict[str, str]
    # Path parameters naming objects that exist, so that answers other than 404 are met.
    known: dict[str, str]
    manage_token: str


DAY = date.today() + timedelta(days=60)
TRAINING = {
    "series": "openapi",
    "title": "Described",
    "host_country": "EE",
    "venue": "Tallinn",
    "starts_on": DAY.isoformat(),
    "ends_on": DAY.isoformat(),
    "capacity": 5,
}
SESSION = {
    "title": "Opening",
    "kind": "lecture",
    "starts_at": f"{DAY}T10:00:00",
    "ends_at": f"{DAY}T11:00:00",
}
# Bodies that pass, so the creating routes reach their 201 (and, sent again, their 409).
VALID_BODIES = {"createTraining": TRAINING, "addSession": SESSION, "register": PERSON}


def _seed(urls: dict[str, str], mail: Path) -> tuple[dict[str, str], str]:
    """A published training with a session, in a series, and two registrations for it: one
    the routes act on, one whose calendar feed they leave alone (a renewal would revoke it);
    and an evaluation invitation from another training."""
    staff = staff_headers()
    with httpx.Client(base_url=urls["scheduling"], headers=staff, timeout=10) as scheduling:
        training = scheduling.post("/trainings", json=TRAINING).raise_for_status().json()
        training_path = f"/trainings/{training['id']}"
        session = scheduling.post(f"{training_path}/sessions", json=SESSION)
        scheduling.post(f"{training_path}/publish").raise_for_status()
    with httpx.Client(base_url=urls["registration"], timeout=10) as registration:
        _until_found(registration, training_path)
        acted_on, feed_owner = (
            registration.post(f"{training_path}/registrations", json=person)
            .raise_for_status()
            .json()
            for person in (PERSON, {**PERSON, "email": "jaan.tamm@mfa.ee"})
        )
    known = {
        "training_id": training["id"],
        "session_id": session.raise_for_status().json()["id"],
        "slug": TRAINING["series"],
        "series": TRAINING["series"],
        "registration_id": acted_on["id"],
        "feed_file": feed_owner["calendar_url"].rsplit("/", 1)[1],
        "token": _invitation(urls, staff, mail),
    }
    return known, acted_on["manage_token"]


def _invitation(urls: dict[str, str], staff: dict[str, str], mail: Path) -> str:
    """The token of the invitation link mailed to the one attendee of a training that began
    today and is completed."""
    today = datetime.now(ZoneInfo("Europe/Tallinn")).date().isoformat()
    body = {**TRAINING, "title": "Evaluated", "starts_on": today, "ends_on": today}
    with httpx.Client(base_url=urls["scheduling"], headers=staff, timeout=10) as scheduling:
        training = scheduling.post("/trainings", json=body).raise_for_status().json()
        training_path = f"/trainings/{training['id']}"
        session = {**SESSION, "starts_at": f"{today}T10:00:00", "ends_at": f"{today}T11:00:00"}
        scheduling.post(f"{training_path}/sessions", json=session).raise_for_status()
        scheduling.post(f"{training_path}/publish").raise_for_status()
        with httpx.Client(base_url=urls["registration"], headers=staff, timeout=10) as registration:
            _until_found(registration, training_path)
            attendee = {**PERSON, "email": "liis.tamm@mfa.ee"}
            registered = registration.post(f"{training_path}/registrations", json=attendee)
            registration_path = f"/registrations/{registered.raise_for_status().json()['id']}"
            registration.post(f"{registration_path}/check-in").raise_for_status()
        scheduling.post(f"{training_path}/complete").raise_for_status()
    link = re.compile(re.escape(urls["evaluation"]) + r"/evaluations/([\w-]+)")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for sent in mail.glob("*.eml"):
            message = email.message_from_bytes(sent.read_bytes(), policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            text = message.get_body(("plain",))
            found = link.search(text.get_content()) if text is not None else None
            if found:
                return found.group(1)
        time.sleep(0.1)
    raise AssertionError("no invitation was mailed")


def _until_found(client: httpx.Client, path: str) -> None:
    """Until the training's published event has reached the service behind `client`."""
    deadline = time.monotonic() + 20
    while client.get(path).status_code != 200:
        assert time.monotonic() < deadline, f"{path} never reached {client.base_url}"
        time.sleep(0.1)


@pytest.fixture(
    scope="module",
    params=[(service, caller) for service in SERVICES for caller in CALLERS],
    ids=lambda param: "-".join(param),
)
def contract(request: pytest.FixtureRequest, served: Served) -> tuple[Any, dict[str, str], Served]:
    service, caller = request.param
    url = served.urls[service]
    claims = CALLERS[caller]
    headers = staff_headers(**claims) if claims else {}
    return schemathesis.openapi.from_url(f"{url}/schema/openapi.json"), headers, served


def examples_of(operation: Any, served: Served) -> Any:
    """Valid and invalid requests; then valid ones about the objects that exist, with a
    valid body where one is known, and conditional and browser requests where described."""
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    names = re.findall(r"{(\w+)}", operation.path)
    if not all(name in served.known for name in names):
        return st.one_of(strategies)
    raw = operation.definition.raw
    declared = {parameter.get("name") for parameter in raw.get("parameters", [])}
    headers = {"X-Manage-Token": served.manage_token} if "X-Manage-Token" in declared else {}
    variants = [headers]
    if "If-None-Match" in declared:
        variants.append({**headers, "If-None-Match": "*"})
    if "text/html" in raw["responses"].get("200", {}).get("content", {}):
        variants.append({**headers, "Accept": "text/html"})
    body = VALID_BODIES.get(raw.get("operationId", ""))
    for variant in variants:
        strategies.append(
            operation.as_strategy(
                GenerationMode.POSITIVE,
                path_parameters={name: served.known[name] for name in names},
                headers=variant or None,
                **({"body": body} if body is not None else {}),
            )
        )
    return st.one_of(strategies)


def test_every_answer_is_described(contract: tuple[Any, dict[str, str], Served]) -> None:
    """Examples of every operation; every failure is gathered, so one run lists all that
    differ rather than the first."""
    # Hypothesis drives each operation here rather than Schemathesis' pytest integration:
    # its lazy schema (`from_fixture`) breaks on pytest 9, and an eager one would need the
    # servers running at import time.
    schema, headers, served = contract
    failures: dict[str, str] = {}

    def validate(case: Any) -> None:
        try:
            case.call_and_validate(headers=headers, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                key = f"{case.operation.label}: {failure.title}: {failure.message}"
                failures.setdefault(key, f"{key}\n    {case.as_curl_command()}")

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
            validate(case)

        check()
        if "requestBody" in operation.definition.raw:
            # No generated body comes near the limit: send one over it (413, or what the
            # guards answer first).
            names = re.findall(r"{(\w+)}", operation.path)
            validate(
                operation.Case(
                    path_parameters={name: served.known.get(name, "0") for name in names},
                    body={"padding": "x" * MAX_BODY},
                    media_type="application/json",
                )
            )
    assert not failures, "\n\n".join(failures.values())


@pytest.mark.parametrize("service", SERVICES)
def test_every_error_answer_is_described_as_a_problem(service: str, tmp_path: Path) -> None:
    """Without a server: each operation has an id, documents 401 (a bad token is refused on
    every route) and describes each of its 4xx answers as application/problem+json."""
    module = __import__(f"services.{service}.app", fromlist=["app"])
    urls = {name: f"sqlite+aiosqlite:///{tmp_path / name}.sqlite3" for name in SERVICES}
    app = module.app(settings_for(tmp_path, "nats://127.0.0.1:4222", urls))
    paths = app.openapi_schema.to_schema()["paths"]
    for path, item in paths.items():
        for method, operation in item.items():
            if method in ("parameters", "summary", "description"):
                continue
            where = f"{method.upper()} {path}"
            assert operation.get("operationId"), where
            responses = operation["responses"]
            assert "401" in responses, where
            for status, response in responses.items():
                if status.startswith("4"):
                    assert "application/problem+json" in response.get("content", {}), (
                        f"{where} {status}"
                    )
