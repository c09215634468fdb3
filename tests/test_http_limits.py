"""No input gets a 5xx: integers beyond what the database holds, and JSON nested too deep."""

from __future__ import annotations

from typing import Any

import pytest

from tests.registration_support import open_training
from tests.support import System

HUGE = str(2**63)  # one past the largest 64-bit signed integer


def assert_names(response: Any, parameter: str) -> None:
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert parameter in problem["detail"], problem
    assert problem["errors"][0]["field"] == parameter


async def test_integers_beyond_what_the_database_holds_are_refused_naming_the_parameter(
    any_system: System,
) -> None:
    system = any_system
    for value in (HUGE, "-1", str(10**40)):
        assert_names(await system.scheduling.get(f"/trainings?offset={value}"), "offset")
        assert_names(
            await system.scheduling.get(f"/trainings?offset={value}", headers=system.token()),
            "offset",
        )
    assert_names(await system.scheduling.get(f"/trainings?limit={HUGE}"), "limit")

    training = await open_training(system.nats.url, system.registration)
    listing = f"/trainings/{training.id}/registrations"
    for parameter in ("offset", "limit"):
        for value in (HUGE, "-1"):
            assert_names(
                await system.registration.get(
                    f"{listing}?{parameter}={value}", headers=system.token()
                ),
                parameter,
            )
    assert (await system.registration.get(listing, headers=system.token())).status_code == 200

    for value in (HUGE, "0", str(2**31)):
        assert_names(
            await system.evaluation.get(f"/questions?version={value}", headers=system.token()),
            "version",
        )
    unknown = await system.evaluation.get("/questions?version=99", headers=system.token())
    assert unknown.status_code == 404


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


# Routes that read a JSON body, for the public and for staff, in each service.
JSON_ROUTES = [
    ("scheduling", "POST", "/trainings", True),
    ("registration", "POST", "/trainings/any/registrations", False),
    ("registration", "POST", "/manage-link", False),
    ("evaluation", "PUT", "/evaluations/some-invitation-token", False),
    ("evaluation", "PUT", "/questions", True),
]
UNREADABLE_BODIES = [
    pytest.param(nested(50_000), "nested", id="arrays-nested-50000-deep"),
    pytest.param(
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "nested", id="objects-nested-50000-deep"
    ),
    pytest.param(b'{"email": "\xff@example.org"}', "UTF-8", id="not-utf8"),
]


@pytest.mark.parametrize(("service", "method", "path", "staff"), JSON_ROUTES)
@pytest.mark.parametrize(("body", "why"), UNREADABLE_BODIES)
async def test_a_json_body_nested_too_deep_or_not_utf8_is_a_client_error_saying_so(
    system: System, service: str, method: str, path: str, staff: bool, body: bytes, why: str
) -> None:
    headers = {"content-type": "application/json", **(system.token() if staff else {})}
    response = await system.clients[service].request(method, path, content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert why in response.json()["detail"]


async def test_json_nested_as_deep_as_a_real_body_still_works(system: System) -> None:
    # Brackets inside strings are text, not nesting.
    body = b'{"email": "' + b"[" * 5_000 + b'@example.org"}'
    response = await system.registration.post(
        "/manage-link", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code in (202, 400), response.text
    assert "nested" not in response.text


def test_nesting_counts_brackets_outside_strings_only() -> None:
    from shared.bodies import MAX_DEPTH, nesting_exceeds

    assert not nesting_exceeds(nested(MAX_DEPTH))
    assert nesting_exceeds(nested(MAX_DEPTH + 1))
    assert nesting_exceeds(b"[" * (MAX_DEPTH + 1))  # never closed: the decoder would recurse
    assert not nesting_exceeds(b'["' + b"[" * 1000 + b'\\"]"]')
    assert not nesting_exceeds(b"[" + b"[1]," * 10_000 + b"[1]]")


async def test_a_nul_character_anywhere_is_a_client_error_on_both_databases(
    any_system: System,
) -> None:
    system = any_system
    staff = {**system.token(), "content-type": "application/json"}
    training = (
        b'{"series": "nul", "title": "a\\u0000b", "host_country": "EE", "venue": "v", '
        b'"starts_on": "2031-01-01", "ends_on": "2031-01-01", "capacity": 3}'
    )
    # Forms are checked field by field by their pages (tests/test_registration_pages.py).
    for client, method, path, body, headers, status, field in [
        (system.scheduling, "GET", "/trainings/%00", None, {}, 400, "path"),
        (system.scheduling, "GET", "/trainings?series=%00", None, {}, 400, "query"),
        # In a body that can be read, the field holding it is named, as for any bad value.
        (system.scheduling, "POST", "/trainings", training, staff, 422, "title"),
        (system.scheduling, "POST", "/trainings", b'{"a": "\x00', staff, 400, "body"),
        (system.registration, "GET", "/manage/a%00b", None, {}, 400, "path"),
        (
            system.evaluation,
            "GET",
            "/evaluations/%00",
            None,
            {"Accept": "application/json"},
            400,
            "path",
        ),
    ]:
        response = await client.request(method, path, content=body, headers=headers)
        assert response.status_code == status, (path, response.text)
        assert "NUL" in response.json()["detail"]
        assert response.json()["errors"][0]["field"] == field
    # A backslash written as text before "u0000" is no NUL.
    fine = training.replace(b"a\\u0000b", b"a\\\\u0000b")
    assert (
        await system.scheduling.post("/trainings", content=fine, headers=staff)
    ).status_code == 201


async def test_dates_far_from_this_century_are_refused_naming_the_field(system: System) -> None:
    staff = system.token()
    base = {
        "series": "far-dates",
        "title": "Far",
        "host_country": "EE",
        "venue": "Tallinn",
        "capacity": 3,
        "starts_on": "2031-01-01",
        "ends_on": "2031-01-01",
    }
    for changes, field in [
        ({"starts_on": "9999-12-31", "ends_on": "9999-12-31"}, "starts_on"),
        ({"registration_opens_at": "9999-12-31T23:59:59"}, "registration_opens_at"),
        ({"registration_closes_at": "0001-01-01T00:00:00+14:00"}, "registration_closes_at"),
    ]:
        response = await system.scheduling.post(
            "/trainings", json={**base, **changes}, headers=staff
        )
        assert_names(response, field)
    created = await system.scheduling.post("/trainings", json=base, headers=staff)
    sessions = f"/trainings/{created.json()['id']}/sessions"
    for starts, ends in [
        ("9999-12-31T23:00:00", "9999-12-31T23:30:00"),
        ("0001-01-01T00:00:00", "0001-01-01T01:00:00"),
    ]:
        response = await system.scheduling.post(
            sessions,
            json={"title": "Far", "kind": "lecture", "starts_at": starts, "ends_at": ends},
            headers=staff,
        )
        assert_names(response, "starts_at")
