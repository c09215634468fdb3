"""A participant's data: export and erasure by the secretariat, and the retention period."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from services.registration.privacy import erase_expired
from shared.clock import clock
from tests.registration_support import (
    completed,
    in_catalogue,
    open_training,
    person,
    register,
    registration_events,
)
from tests.support import System, eventually, staff_headers

pytestmark = pytest.mark.services("registration")


async def _export(system: System, email: str) -> dict[str, Any]:
    response = await system.registration.post(
        "/privacy/export", json={"email": email}, headers=staff_headers()
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_export_returns_everything_held_about_a_person(system: System) -> None:
    first = await open_training(system.nats.url, system.registration, title="Tallinn 2009")
    second = await open_training(system.nats.url, system.registration, title="Vilnius 2009")
    await register(
        system.registration,
        first.id,
        person(1, needs={"access": "wheelchair", "diet": "vegan"}, position="Consul"),
    )
    await register(system.registration, second.id, person(1))
    await register(system.registration, second.id, person(2))

    held = await _export(system, "PARTICIPANT1@example.org")

    assert held["participant"]["email"] == "participant1@example.org"
    assert [r["training_title"] for r in held["registrations"]] == ["Tallinn 2009", "Vilnius 2009"]
    assert held["registrations"][0]["needs"] == {"access": "wheelchair", "diet": "vegan"}
    assert held["registrations"][0]["consent_at"]
    assert {r["email"] for r in held["registrations"]} == {"participant1@example.org"}
    assert len(held["mails"]) == 2
    nobody = await _export(system, "nobody@example.org")
    assert nobody["participant"] is None and nobody["registrations"] == []


async def test_privacy_routes_belong_to_the_secretariat(system: System) -> None:
    for route in ("/privacy/export", "/privacy/erase"):
        organiser = await system.registration.post(
            route, json={"email": "x@example.org"}, headers=staff_headers("organiser", ["EE"])
        )
        assert organiser.status_code == 403
        anonymous = await system.registration.post(route, json={"email": "x@example.org"})
        assert anonymous.status_code == 401
        # Authorisation comes before the body is even read.
        malformed = await system.registration.post(
            route, content=b"nonsense", headers={**staff_headers("organiser", ["EE"])}
        )
        assert malformed.status_code == 403


async def test_erasure_removes_personal_data_frees_the_seat_and_tells_the_others(
    system: System,
) -> None:
    past = await open_training(system.nats.url, system.registration, capacity=5)
    upcoming = await open_training(system.nats.url, system.registration, capacity=1)
    await register(system.registration, past.id, person(1, needs={"diet": "halal"}))
    seated = await register(system.registration, upcoming.id, person(1))
    waiting = await register(system.registration, upcoming.id, person(2))
    await completed(system.nats.url, system.registration, past.id)

    erased = await system.registration.post(
        "/privacy/erase", json={"email": "participant1@example.org"}, headers=staff_headers()
    )

    assert erased.status_code == 200, erased.text
    assert erased.json()["registrations_erased"] == 2
    assert erased.json()["registrations_cancelled"] == 1
    held = await _export(system, "participant1@example.org")
    assert held == {
        "email": "participant1@example.org",
        "participant": None,
        "registrations": [],
        "mails": [],
    }
    # The seat went to the next in line, who was told.
    promoted = await system.registration.get(
        f"/registrations/{waiting['id']}", headers={"X-Manage-Token": waiting["manage_token"]}
    )
    assert promoted.json()["status"] == "confirmed"
    assert (await in_catalogue(system.registration, upcoming.id))["seats_left"] == 0
    # The manage link no longer opens anything, and staff see no personal data.
    gone = await system.registration.get(
        f"/registrations/{seated['id']}", headers={"X-Manage-Token": seated["manage_token"]}
    )
    assert gone.status_code == 404
    listed = await system.registration.get(
        f"/trainings/{past.id}/registrations", headers=staff_headers()
    )
    (row,) = listed.json()["items"]
    assert (row["name"], row["email"], row["organisation"], row["needs"]) == ("", "", "", None)
    assert row["country"] == "EE" and row["status"] == "confirmed"

    async def announced() -> bool:
        events = await registration_events(system.nats.url)
        assert any(
            e.subject == "registration.participant.erased"
            and e.data["id"] == seated["participant_id"]
            for e in events
        )
        return True

    await eventually(announced)
    # The address is free to register again as a new person.
    again = await register(system.registration, upcoming.id, person(1))
    assert again["participant_id"] != seated["participant_id"]


async def test_retention_erases_personal_data_a_period_after_completion(system: System) -> None:
    old = await open_training(system.nats.url, system.registration, capacity=5)
    recent = await open_training(system.nats.url, system.registration, capacity=5)
    ongoing = await open_training(system.nats.url, system.registration, capacity=5)
    only_old = await register(system.registration, old.id, person(1))
    both_old = await register(system.registration, old.id, person(2))
    await register(system.registration, ongoing.id, person(2))
    kept = await register(system.registration, recent.id, person(3))

    await completed(system.nats.url, system.registration, old.id)
    clock.advance(timedelta(days=200))
    await completed(system.nats.url, system.registration, recent.id)

    runtime = system.runtime("registration")
    clock.advance(timedelta(days=170))
    assert (
        await system.on_service_loop("registration", erase_expired, runtime.db, system.settings)
        == 2
    )

    def names(items: list[dict[str, Any]]) -> list[str]:
        return [item["name"] for item in items]

    old_list = await system.registration.get(
        f"/trainings/{old.id}/registrations", headers=staff_headers()
    )
    assert names(old_list.json()["items"]) == ["", ""]
    recent_list = await system.registration.get(
        f"/trainings/{recent.id}/registrations", headers=staff_headers()
    )
    assert names(recent_list.json()["items"]) == ["Participant 3"]
    # Someone with a registration still running keeps being known; the other is forgotten.
    assert (await _export(system, "participant2@example.org"))["participant"] is not None
    assert (await _export(system, "participant1@example.org"))["participant"] is None
    assert (
        await system.on_service_loop("registration", erase_expired, runtime.db, system.settings)
        == 0
    )

    async def announced() -> bool:
        erased = {
            e.data["id"]
            for e in await registration_events(system.nats.url)
            if e.subject == "registration.participant.erased"
        }
        assert erased == {only_old["participant_id"]}, erased
        return True

    await eventually(announced)
    assert both_old["participant_id"] != only_old["participant_id"]
    assert kept["status"] == "confirmed"
