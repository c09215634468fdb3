"""The participant's journey on registration's pages and API: the confirmation reached by a
redirect, correcting one's details, cancelling after a confirm step, and the programme shown
on the catalogue and the form."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.events import contracts as ev
from tests.browser import csrf_of
from tests.registration_support import (
    events_about,
    open_training,
    person,
    register,
)
from tests.support import System, eventually

pytestmark = pytest.mark.services("registration")

FORM = {
    "name": "Liis Kask",
    "email": "liis.kask@mfa.ee",
    "organisation": "Embassy of Estonia in Riga",
    "country": "EE",
    "consent": "yes",
}


async def _post_form(system: System, path: str, form: dict[str, str], **kwargs: Any) -> Any:
    page = await system.registration.get(path)
    return await system.registration.post(
        path, data={**form, "_csrf_token": csrf_of(page.text)}, **kwargs
    )


async def _registered_by_form(system: System, training_id: str, **form: str) -> str:
    """Register through the form; the manage page's path."""
    posted = await _post_form(
        system, f"/register/{training_id}", {**FORM, **form}, follow_redirects=False
    )
    assert posted.status_code == 303, posted.text
    found = re.fullmatch(r"(/manage/[^/]+)/registered", posted.headers["location"])
    assert found is not None, posted.headers["location"]
    return found.group(1)


async def _registered_by_api(system: System) -> tuple[dict[str, Any], str, dict[str, str]]:
    """Register through the API: the registration, its path, and the header with its
    manage token."""
    training = await open_training(system.nats.url, system.registration)
    created = await register(system.registration, training.id, person(1))
    return created, f"/registrations/{created['id']}", {"X-Manage-Token": created["manage_token"]}


async def _status(system: System, training_id: str, email: str) -> str:
    listed = await system.registration.get(
        f"/trainings/{training_id}/registrations", headers=system.token()
    )
    (item,) = [item for item in listed.json()["items"] if item["email"] == email]
    return str(item["status"])


async def test_the_form_redirects_to_a_confirmation_that_reloads_without_registering_again(
    system: System,
) -> None:
    training = await open_training(system.nats.url, system.registration)
    manage = await _registered_by_form(system, training.id)

    for _ in range(2):
        page = await system.registration.get(f"{manage}/registered")
        assert page.status_code == 200
        assert "You are registered" in page.text and "already registered" not in page.text
        assert 'id="manage-link" href="http://' in page.text and manage in page.text
    listed = await system.registration.get(
        f"/trainings/{training.id}/registrations", headers=system.token()
    )
    assert len(listed.json()["items"]) == 1
    # The JSON API answers as before: 201 with the manage token.
    created = await register(system.registration, training.id, person(2))
    assert created["status"] == "confirmed" and created["manage_token"]


async def test_cancelling_on_the_manage_page_asks_first_and_says_where_the_seat_goes(
    system: System,
) -> None:
    training = await open_training(system.nats.url, system.registration, capacity=1)
    manage = await _registered_by_form(system, training.id)
    waiting = await register(system.registration, training.id, person(2))
    page = await system.registration.get(manage)
    assert f'href="{manage}/cancel"' in page.text

    # The first click (or a form without the confirmation) only asks.
    unconfirmed = await system.registration.post(
        f"{manage}/cancel", data={"_csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert unconfirmed.status_code == 303
    assert unconfirmed.headers["location"] == f"{manage}/cancel"
    assert await _status(system, training.id, FORM["email"]) == "confirmed"

    confirm = await system.registration.get(f"{manage}/cancel")
    assert confirm.status_code == 200
    assert "next person on the waiting list" in confirm.text
    assert "cannot be undone" in confirm.text
    assert f'href="{manage}"' in confirm.text  # keep it
    done = await system.registration.post(
        f"{manage}/cancel",
        data={"_csrf_token": csrf_of(confirm.text), "confirm": "yes"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == f"{manage}?done=cancelled"
    assert await _status(system, training.id, FORM["email"]) == "cancelled"
    assert await _status(system, training.id, waiting["email"]) == "confirmed"
    # Nothing left to cancel: the confirm step leads back to the manage page.
    again = await system.registration.get(f"{manage}/cancel", follow_redirects=False)
    assert again.status_code == 303


async def test_the_manage_page_corrects_details_and_refuses_a_bad_field_by_name(
    system: System,
) -> None:
    training = await open_training(system.nats.url, system.registration)
    manage = await _registered_by_form(system, training.id)
    page = await system.registration.get(manage)
    form = {
        "_csrf_token": csrf_of(page.text),
        "name": "Liis Kask-Tamm",
        "organisation": "Ministry of Foreign Affairs of Estonia",
        "position": "Consul",
        "needs_access": "",
        "needs_diet": "no nuts",
        "language": "de",
    }

    bad = await system.registration.post(
        f"{manage}/details", data={**form, "name": " ", "language": "xx"}
    )
    assert bad.status_code == 422
    assert 'id="error-summary"' in bad.text and 'href="#name"' in bad.text
    for field in ("name", "language"):
        assert f'id="{field}-error"' in bad.text, field
    assert 'id="organisation-error"' not in bad.text
    assert "Ministry of Foreign Affairs of Estonia" in bad.text  # kept as typed

    saved = await system.registration.post(f"{manage}/details", data=form, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == f"{manage}?done=changed"
    after = await system.registration.get(saved.headers["location"])
    assert "Liis Kask-Tamm" in after.text and "Consul" in after.text
    assert 'id="notice"' in after.text
    listed = await system.registration.get(
        f"/trainings/{training.id}/registrations", headers=system.token()
    )
    (item,) = listed.json()["items"]
    assert item["name"] == "Liis Kask-Tamm" and item["language"] == "de"
    assert item["needs"] == {"diet": "no nuts"} and item["position"] == "Consul"


async def test_the_api_corrects_details_with_the_manage_token_and_announces_them(
    system: System,
) -> None:
    created, path, holder = await _registered_by_api(system)

    for body, field in (
        ({"name": ""}, "name"),
        ({"language": "tlh"}, "language"),
        ({"organisation": "a\u202eb"}, "organisation"),
        ({"position": "x" * 201}, "position"),
    ):
        refused = await system.registration.patch(path, json=body, headers=holder)
        assert refused.status_code == 422, (body, refused.text)
        assert field in refused.json()["detail"], refused.json()
    unknown_field = await system.registration.patch(path, json={"email": "x@y.org"}, headers=holder)
    assert unknown_field.status_code in (400, 422) and "email" in unknown_field.text
    stranger = await system.registration.patch(
        path, json={"name": "Mallory"}, headers={"X-Manage-Token": "not-it"}
    )
    assert stranger.status_code == 404

    changed = await system.registration.patch(
        path, json={"name": "Participant One", "language": "pl"}, headers=holder
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Participant One"
    assert changed.json()["organisation"] == person(1)["organisation"]  # not sent, kept
    assert changed.json()["language"] == "pl"

    async def announced() -> dict[str, Any]:
        found = [
            event
            for event in await events_about(system.nats.url, {created["id"]})
            if event.subject == "registration.registration.updated"
        ]
        assert found, "no registration.registration.updated yet"
        return found[-1].data

    data = await eventually(announced)
    assert data["name"] == "Participant One" and data["language"] == "pl"
    assert data["email"] == "participant1@example.org" and data["revision"] >= 2

    cancelled = await system.registration.post(f"{path}/cancel", headers=holder)
    assert cancelled.status_code == 200
    late = await system.registration.patch(path, json={"name": "Too late"}, headers=holder)
    assert late.status_code == 409


async def test_the_catalogue_and_the_form_show_the_programme_in_the_capitals_zone(
    system: System,
) -> None:
    training_id = "b7c2d8f0-1111-4c3e-9a55-0c0ffee00001"
    day = datetime.now(UTC).date() + timedelta(days=30)
    opening = datetime(day.year, day.month, day.day, 7, 0, tzinfo=UTC)  # 09:00 or 10:00
    session = ev.SessionData(
        id="s-1",
        revision=1,
        training_id=training_id,
        title="Identifying victims at the consulate",
        kind="lecture",
        starts_at=opening,
        ends_at=opening + timedelta(hours=1, minutes=30),
        room="Hall B",
    )
    training = await open_training(
        system.nats.url,
        system.registration,
        training_id=training_id,
        starts_on=day,
        sessions=[session],
    )
    local = opening.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Tallinn"))

    catalogue = await system.registration.get("/")
    page_link = f"{system.settings.public_url('scheduling')}/trainings/{training.id}/page"
    assert f'href="{page_link}"' in catalogue.text
    form = await system.registration.get(f"/register/{training.id}")
    assert f'href="{page_link}"' in form.text
    assert "Identifying victims at the consulate" in form.text and "Hall B" in form.text
    assert f"{local:%H:%M}" in form.text
    assert "Europe/Tallinn" in form.text


async def test_a_staff_correction_is_audited_and_the_participants_own_is_not(
    system: System,
) -> None:
    created, path, holder = await _registered_by_api(system)
    own = await system.registration.patch(path, json={"position": "Consul"}, headers=holder)
    assert own.status_code == 200
    organiser = system.token("organiser", ["EE"])
    by_staff = await system.registration.patch(
        path, json={"organisation": "Ministry of Foreign Affairs"}, headers=organiser
    )
    assert by_staff.status_code == 200
    elsewhere = await system.registration.patch(
        path, json={"name": "X"}, headers=system.token("organiser", ["LV"])
    )
    assert elsewhere.status_code == 403

    log = await system.registration.get(
        "/audit", params={"action": "registration.details_changed"}, headers=system.token()
    )
    assert log.status_code == 200, log.text
    entries = log.json()["items"]
    assert [entry["object_id"] for entry in entries] == [created["id"]]
