"""The HTTP contract every service shares: auth before validation, problem details, limits."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from shared.auth import COOKIE_NAME, issue_token
from shared.clock import clock
from tests.registration_support import served_registration
from tests.support import System

TRAINING = {
    "series": "http-contract",
    "title": "Contract",
    "host_country": "EE",
    "venue": "Tallinn",
    "starts_on": "2031-04-28",
    "ends_on": "2031-04-28",
    "capacity": 10,
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        bearer("not-a-jwt"),
        bearer(
            jwt.encode(
                {"sub": "x", "role": "secretariat", "iat": 1, "exp": 4_000_000_000},
                "another-secret-of-sufficient-length",
                algorithm="HS256",
            )
        ),
    ],
    ids=["missing", "not-bearer", "malformed", "forged"],
)
async def test_a_missing_malformed_or_forged_token_gets_401_before_validation(
    system: System, headers: dict[str, str]
) -> None:
    response = await system.scheduling.post("/trainings", json={"nonsense": True}, headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 401


async def test_an_expired_token_gets_401(system: System) -> None:
    token = issue_token(system.settings.secret, role="secretariat", lifetime=timedelta(hours=1))
    clock.advance(timedelta(hours=2))
    response = await system.scheduling.post("/trainings", json=TRAINING, headers=bearer(token))
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


async def test_an_organiser_of_another_country_gets_403(system: System) -> None:
    response = await system.scheduling.post(
        "/trainings", json=TRAINING, headers=system.token("organiser", ["LV"])
    )
    assert response.status_code == 403, response.text
    assert response.json()["status"] == 403


async def test_bad_input_gets_a_problem_naming_the_field(system: System) -> None:
    response = await system.scheduling.post(
        "/trainings", json={**TRAINING, "capacity": "many"}, headers=system.token()
    )
    assert 400 <= response.status_code < 500
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "capacity" in problem["detail"]
    assert problem["errors"][0]["field"] == "capacity"


async def test_a_body_over_one_mebibyte_gets_413(tmp_path: Path) -> None:
    # Against a real server: the limit is enforced while the body streams in.
    async with served_registration(tmp_path) as served, httpx.AsyncClient() as client:
        response = await client.post(
            f"{served.url}/trainings/unknown/registrations",
            content=b'{"name": "' + b"x" * (1024 * 1024 + 10) + b'"}',
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("service", ["scheduling", "registration", "evaluation"])
async def test_every_service_serves_health_readiness_and_openapi(
    system: System, service: str
) -> None:
    client = system.clients[service]
    assert (await client.get("/health")).json() == {"status": "ok"}
    assert (await client.get("/ready")).json() == {"ready": True, "database": True, "nats": True}
    schema = (await client.get("/schema/openapi.json")).json()
    operations = [
        operation.get("operationId")
        for path in schema["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict)
    ]
    assert operations and all(operations)


async def test_the_correlation_id_travels_from_request_to_event(system: System) -> None:
    from nats import connect

    response = await system.scheduling.post(
        "/trainings",
        json=TRAINING,
        headers={**system.token("organiser", ["EE"]), "X-Correlation-ID": "req-4711"},
    )
    assert response.headers["x-correlation-id"] == "req-4711"
    training_id = response.json()["id"]
    headers = {**system.token("organiser", ["EE"]), "X-Correlation-ID": "req-4712"}
    await system.scheduling.post(
        f"/trainings/{training_id}/sessions",
        json={
            "title": "Opening",
            "kind": "lecture",
            "starts_at": "2031-04-28T09:00:00",
            "ends_at": "2031-04-28T10:00:00",
        },
        headers=headers,
    )
    await system.scheduling.post(f"/trainings/{training_id}/publish", headers=headers)
    connection = await connect(system.nats.url)
    try:
        subscription = await connection.jetstream().subscribe(
            "scheduling.training.published", ordered_consumer=True
        )
        message = await subscription.next_msg(timeout=10)
    finally:
        await connection.close()
    envelope: dict[str, Any] = __import__("json").loads(message.data)
    assert envelope["correlation_id"] == "req-4712"
    assert message.headers and message.headers["Nats-Msg-Id"] == envelope["event_id"]


async def test_staff_sign_in_with_a_token_sets_a_host_cookie_behind_csrf(system: System) -> None:
    client = system.registration
    page = await client.get("/login")
    assert page.status_code == 200
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    token = issue_token(system.settings.secret, role="organiser", countries=["EE"])

    forged = await client.post("/login", data={"token": token}, follow_redirects=False)
    assert forged.status_code == 403

    signed_in = await client.post(
        "/login",
        data={"token": token, "_csrf_token": csrf.group(1), "next": "/trainings"},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303, signed_in.text
    assert signed_in.headers["location"] == "/trainings"
    cookie = signed_in.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite", "path"} <= attributes
    assert "samesite=strict" in cookie.lower() and "path=/" in cookie.lower()

    wrong = await client.post(
        "/login", data={"token": "rubbish", "_csrf_token": csrf.group(1)}, follow_redirects=False
    )
    assert wrong.status_code == 401
