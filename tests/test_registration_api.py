"""The registration API over a real broker, on SQLite and on PostgreSQL: seats, quotas,
moderation, windows, the waitlist, staff routes, tokens and bad input."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.clock import clock
from shared.events import contracts as ev
from tests.registration_support import (
    completed,
    events_about,
    in_catalogue,
    one_registration_system_per_module,
    open_training,
    person,
    publish,
    register,
    training_event,
)
from tests.support import (
    System,
    cases,
    eventually,
    staff_headers,
)

system = one_registration_system_per_module("registration")


async def _open(system: System, **changes: Any) -> ev.TrainingData:
    return await open_training(system.nats.url, system.registration, **changes)


async def _updated(system: System, training: ev.TrainingData, **changes: Any) -> None:
    """Scheduling announces the training's first change (revision 2), on the same day."""
    update = training_event(
        training_id=training.id,
        revision=2,
        subject=ev.TrainingUpdated,
        starts_on=training.starts_on,
        **changes,
    )
    await publish(system.nats.url, update)


async def _listed(system: System, training_id: str, **params: Any) -> list[dict[str, Any]]:
    response = await system.registration.get(
        f"/trainings/{training_id}/registrations", headers=staff_headers(), params=params
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _manage(registration: dict[str, Any]) -> dict[str, str]:
    return {"X-Manage-Token": registration["manage_token"]}


async def _as_participant(
    system: System, method: str, registration: dict[str, Any], path: str = ""
) -> dict[str, Any]:
    """The participant's own call on their registration, with its manage token."""
    response = await system.registration.request(
        method, f"/registrations/{registration['id']}{path}", headers=_manage(registration)
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def _cancel(system: System, registration: dict[str, Any]) -> dict[str, Any]:
    return await _as_participant(system, "POST", registration, "/cancel")


async def _status(system: System, registration: dict[str, Any]) -> dict[str, Any]:
    return await _as_participant(system, "GET", registration)


# --- catalogue -----------------------------------------------------------------------


async def test_catalogue_lists_a_published_training_with_seats_left_and_open_window(
    system: System,
) -> None:
    training = await _open(system, capacity=3, city="Reykjavik", timezone="Atlantic/Reykjavik")
    await register(system.registration, training.id, person(1))

    items = (await system.registration.get("/trainings")).json()["items"]
    entry = next(item for item in items if item["id"] == training.id)
    assert entry["seats_left"] == 2
    assert entry["registration_open"] is True
    assert entry["city"] == "Reykjavik" and entry["timezone"] == "Atlantic/Reykjavik"
    assert entry["starts_on"] == training.starts_on.isoformat()


async def test_catalogue_follows_capacity_window_and_cancellation_events(system: System) -> None:
    training = await _open(system, capacity=2)
    later = datetime.now(UTC) + timedelta(days=3)
    await _updated(system, training, capacity=5, opens_at=later)
    entry = await in_catalogue(system.registration, training.id, seats_left=5)
    assert entry["registration_open"] is False

    # An older event arriving late changes nothing.
    await publish(
        system.nats.url,
        training_event(
            training_id=training.id, revision=1, capacity=1, starts_on=training.starts_on
        ),
    )
    await publish(system.nats.url, ev.TrainingCancelled(id=training.id, revision=3))

    async def gone() -> bool:
        items = (await system.registration.get("/trainings")).json()["items"]
        return training.id not in {item["id"] for item in items}

    await eventually(gone)
    entry = (await system.registration.get(f"/trainings/{training.id}")).json()
    assert entry["status"] == "cancelled" and entry["capacity"] == 5


# --- seats, waitlist, duplicates ----------------------------------------------------------


async def test_registration_is_confirmed_while_seats_are_left_then_waitlisted_in_order(
    system: System,
) -> None:
    training = await _open(system, capacity=2)
    answers = [await register(system.registration, training.id, person(n)) for n in range(5)]

    assert [a["status"] for a in answers] == ["confirmed"] * 2 + ["waitlisted"] * 3
    assert [a["waitlist_position"] for a in answers] == [None, None, 1, 2, 3]
    assert {a["waitlist_reason"] for a in answers[2:]} == {"full"}
    assert answers[0]["category"] == "member"
    assert answers[0]["manage_url"].endswith(f"/manage/{answers[0]['manage_token']}")
    assert "/calendars/" in answers[0]["calendar_url"]
    entry = (await system.registration.get(f"/trainings/{training.id}")).json()
    assert entry["seats_left"] == 0


async def test_same_email_cannot_hold_two_active_registrations_for_one_training(
    system: System,
) -> None:
    training = await _open(system, capacity=5)
    first = await register(system.registration, training.id, person(1))

    again = await system.registration.post(
        f"/trainings/{training.id}/registrations",
        json=person(1, email="  Participant1@Example.ORG "),
    )
    assert again.status_code == 409
    problem = again.json()
    assert "already registered" in problem["detail"]
    assert problem["errors"][0]["field"] == "email"

    await _cancel(system, first)
    back = await register(system.registration, training.id, person(1))
    assert back["status"] == "confirmed"
    assert back["participant_id"] == first["participant_id"]


async def test_cancellation_promotes_the_first_on_the_waitlist(system: System) -> None:
    training = await _open(system, capacity=1)
    seated, first, second = [
        await register(system.registration, training.id, person(n)) for n in range(3)
    ]

    cancelled = await _cancel(system, seated)

    assert cancelled["status"] == "cancelled"
    assert (await _status(system, first))["status"] == "confirmed"
    second_now = await _status(system, second)
    assert second_now["status"] == "waitlisted" and second_now["waitlist_position"] == 1
    again = await system.registration.post(
        f"/registrations/{seated['id']}/cancel", headers=_manage(seated)
    )
    assert again.status_code == 409


async def test_cancelling_a_waitlisted_registration_moves_the_others_up(system: System) -> None:
    training = await _open(system, capacity=1)
    _, first, second = [
        await register(system.registration, training.id, person(n)) for n in range(3)
    ]
    await _cancel(system, first)
    assert (await _status(system, second))["waitlist_position"] == 1
    assert (await in_catalogue(system.registration, training.id))["seats_left"] == 0


async def test_raised_capacity_promotes_the_waitlist_at_once(system: System) -> None:
    training = await _open(system, capacity=1)
    answers = [await register(system.registration, training.id, person(n)) for n in range(4)]

    await _updated(system, training, capacity=3)

    async def promoted() -> list[str]:
        statuses = [(await _status(system, a))["status"] for a in answers]
        assert statuses == ["confirmed", "confirmed", "confirmed", "waitlisted"], statuses
        return statuses

    await eventually(promoted)
    assert (await _status(system, answers[3]))["waitlist_position"] == 1


# --- windows -------------------------------------------------------------------------


async def test_registration_outside_the_window_is_refused_but_host_staff_may_register(
    system: System,
) -> None:
    opens = datetime.now(UTC) + timedelta(days=2)
    closes = datetime.now(UTC) + timedelta(days=5)
    training = await _open(system, capacity=5, opens_at=opens, closes_at=closes)

    early = await system.registration.post(
        f"/trainings/{training.id}/registrations", json=person(1)
    )
    assert early.status_code == 409 and "not opened" in early.json()["detail"]

    by_host = await register(
        system.registration, training.id, person(2), headers=staff_headers("organiser", ["EE"])
    )
    assert by_host["status"] == "confirmed"
    by_other = await system.registration.post(
        f"/trainings/{training.id}/registrations",
        json=person(3),
        headers=staff_headers("organiser", ["LV"]),
    )
    assert by_other.status_code == 409

    clock.set(opens + timedelta(hours=1))
    assert (await register(system.registration, training.id, person(4)))["status"] == "confirmed"

    clock.set(closes + timedelta(minutes=1))
    late = await system.registration.post(f"/trainings/{training.id}/registrations", json=person(5))
    assert late.status_code == 409 and "closed" in late.json()["detail"]


async def test_registration_closes_when_the_first_day_begins_without_an_explicit_close(
    system: System,
) -> None:
    training = await _open(system, capacity=5, timezone="Europe/Tallinn")
    # Midnight in Tallinn is 22:00 or 21:00 UTC the evening before.
    first_day = datetime(
        training.starts_on.year, training.starts_on.month, training.starts_on.day, tzinfo=UTC
    )
    clock.set(first_day - timedelta(hours=1))
    refused = await system.registration.post(
        f"/trainings/{training.id}/registrations", json=person(1)
    )
    assert refused.status_code == 409
    entry = (await system.registration.get(f"/trainings/{training.id}")).json()
    assert entry["registration_open"] is False


# --- quotas --------------------------------------------------------------------------


async def test_country_quota_waitlists_with_its_reason_and_promotion_respects_it(
    system: System,
) -> None:
    training = await _open(system, capacity=3)
    organiser = staff_headers("organiser", ["EE"])
    quotas = await system.registration.put(
        f"/trainings/{training.id}/quotas", json={"ee": 1}, headers=organiser
    )
    assert quotas.status_code == 200, quotas.text
    assert quotas.json() == {"EE": 1}

    estonian = await register(system.registration, training.id, person(1, country="EE"))
    second_estonian = await register(system.registration, training.id, person(2, country="EE"))
    latvian = await register(system.registration, training.id, person(3, country="LV"))
    finn = await register(system.registration, training.id, person(4, country="FI"))
    late_swede = await register(system.registration, training.id, person(5, country="SE"))

    assert estonian["status"] == "confirmed"
    assert second_estonian["status"] == "waitlisted"
    assert second_estonian["waitlist_reason"] == "country_quota"
    assert second_estonian["waitlist_position"] == 1
    assert latvian["status"] == "confirmed" and finn["status"] == "confirmed"
    assert late_swede["waitlist_reason"] == "full" and late_swede["waitlist_position"] == 2

    # A seat comes free: the Estonian ahead in the queue is over quota, the Swede gets it.
    await _cancel(system, latvian)
    assert (await _status(system, second_estonian))["status"] == "waitlisted"
    assert (await _status(system, late_swede))["status"] == "confirmed"

    # Raising the quota promotes at once when a seat is free.
    await _cancel(system, finn)
    assert (await _status(system, second_estonian))["status"] == "waitlisted"
    raised = await system.registration.put(
        f"/trainings/{training.id}/quotas", json={"EE": 2}, headers=organiser
    )
    assert raised.status_code == 200
    assert (await _status(system, second_estonian))["status"] == "confirmed"
    read = await system.registration.get(f"/trainings/{training.id}/quotas", headers=organiser)
    assert read.json() == {"EE": 2}


async def test_quotas_with_an_unknown_country_or_a_negative_maximum_are_refused(
    system: System,
) -> None:
    training = await _open(system)
    for body, field in (({"XX": 1}, "XX"), ({"EE": -1}, "EE"), ({"EST": 1}, "EST")):
        response = await system.registration.put(
            f"/trainings/{training.id}/quotas", json=body, headers=staff_headers()
        )
        assert 400 <= response.status_code < 500, response.text
        assert field in response.text
    assert (
        await system.registration.get(f"/trainings/{training.id}/quotas", headers=staff_headers())
    ).json() == {}


# --- moderation ----------------------------------------------------------------------


async def test_moderated_registrations_wait_for_approval_and_decline_frees_the_seat(
    system: System,
) -> None:
    training = await _open(system, capacity=1, moderated=True)
    first = await register(system.registration, training.id, person(1))
    second = await register(system.registration, training.id, person(2))
    third = await register(system.registration, training.id, person(3))
    assert [first["status"], second["status"], third["status"]] == ["pending"] * 3
    entry = (await system.registration.get(f"/trainings/{training.id}")).json()
    assert entry["seats_left"] == 1 and entry["moderated"] is True

    organiser = staff_headers("organiser", ["EE"])
    approved = await system.registration.post(
        f"/registrations/{first['id']}/approve", headers=organiser
    )
    assert approved.status_code == 200 and approved.json()["status"] == "confirmed"
    full = await system.registration.post(
        f"/registrations/{second['id']}/approve", headers=organiser
    )
    assert full.json()["status"] == "waitlisted" and full.json()["waitlist_position"] == 1
    again = await system.registration.post(
        f"/registrations/{first['id']}/approve", headers=organiser
    )
    assert again.status_code == 409

    declined = await system.registration.post(
        f"/registrations/{third['id']}/decline", headers=organiser
    )
    assert declined.json()["status"] == "declined"
    # Declining the confirmed one gives its seat to the approved one waiting.
    await system.registration.post(f"/registrations/{first['id']}/decline", headers=organiser)
    assert (await _status(system, second))["status"] == "confirmed"
    # A declined registration does not block registering again.
    assert (await register(system.registration, training.id, person(3)))["status"] == "pending"


# --- check-in ------------------------------------------------------------------------


async def test_check_in_runs_from_the_first_day_until_completion_for_confirmed_only(
    system: System,
) -> None:
    training = await _open(system, capacity=1)
    seated = await register(system.registration, training.id, person(1))
    waiting = await register(system.registration, training.id, person(2))
    url = f"/registrations/{seated['id']}/check-in"

    early = await system.registration.post(url, headers=staff_headers("organiser", ["EE"]))
    assert early.status_code == 409 and "first day" in early.json()["detail"]

    # 07:00 in Tallinn on the first day.
    day = training.starts_on
    clock.set(datetime(day.year, day.month, day.day, 4, 0, tzinfo=UTC))
    organiser = staff_headers("organiser", ["EE"])
    checked = await system.registration.post(url, headers=organiser)
    assert checked.status_code == 200 and checked.json()["checked_in"] is True
    refused = await system.registration.post(
        f"/registrations/{waiting['id']}/check-in", headers=organiser
    )
    assert refused.status_code == 409 and "confirmed" in refused.json()["detail"]

    undone = await system.registration.delete(url, headers=organiser)
    assert undone.status_code == 200 and undone.json()["checked_in"] is False
    assert (await system.registration.post(url, headers=organiser)).status_code == 200

    await completed(system.nats.url, system.registration, training.id)
    closed = await system.registration.post(url, headers=organiser)
    assert closed.status_code == 409 and "completed" in closed.json()["detail"]


# --- scheduling's cancellation ---------------------------------------------------------


async def test_training_cancelled_by_scheduling_cancels_every_registration(
    system: System,
) -> None:
    training = await _open(system, capacity=1)
    answers = [await register(system.registration, training.id, person(n)) for n in range(3)]

    await publish(system.nats.url, ev.TrainingCancelled(id=training.id, revision=2, reason="Storm"))

    async def all_cancelled() -> bool:
        statuses = {(await _status(system, a))["status"] for a in answers}
        assert statuses == {"cancelled"}, statuses
        return True

    await eventually(all_cancelled)
    refused = await system.registration.post(
        f"/trainings/{training.id}/registrations", json=person(9)
    )
    assert refused.status_code == 409 and "cancelled" in refused.json()["detail"]


# --- who may see and do what --------------------------------------------------------------


async def test_a_manage_token_opens_only_its_own_registration(system: System) -> None:
    training = await _open(system, capacity=5)
    mine = await register(system.registration, training.id, person(1))
    theirs = await register(system.registration, training.id, person(2))

    own = await system.registration.get(f"/registrations/{mine['id']}", headers=_manage(mine))
    assert own.status_code == 200 and own.json()["email"] == "participant1@example.org"
    assert "manage_token" not in own.json()
    for headers in (_manage(mine), {"X-Manage-Token": "forged"}, {}):
        other = await system.registration.get(f"/registrations/{theirs['id']}", headers=headers)
        assert other.status_code == 404
        assert "participant2" not in other.text
        cancel = await system.registration.post(
            f"/registrations/{theirs['id']}/cancel", headers=headers
        )
        assert cancel.status_code == 404
    assert (await _status(system, theirs))["status"] == "confirmed"


# The staff routes on a training's registrations: method, path (the training's and the
# registration's ids put in), body.
STAFF_ROUTES = [
    ("GET", "/trainings/{training}/registrations", None),
    ("GET", "/trainings/{training}/registrations.csv", None),
    ("GET", "/trainings/{training}/quotas", None),
    ("PUT", "/trainings/{training}/quotas", {"EE": "not even a number"}),
    ("POST", "/registrations/{registration}/approve", None),
    ("POST", "/registrations/{registration}/decline", None),
    ("POST", "/registrations/{registration}/check-in", None),
    ("DELETE", "/registrations/{registration}/check-in", None),
    ("GET", "/registrations/{registration}", None),
    ("POST", "/registrations/{registration}/cancel", None),
]


async def test_an_organiser_of_another_country_gets_403(system: System) -> None:
    training = await _open(system, capacity=5, host_country="EE")
    registration = await register(system.registration, training.id, person(1))
    latvian = staff_headers("organiser", ["LV"])
    base = f"/trainings/{training.id}"
    for method, route, body in STAFF_ROUTES:
        url = route.format(training=training.id, registration=registration["id"])
        response = await system.registration.request(method, url, json=body, headers=latvian)
        assert response.status_code == 403, (method, url, response.text)
        anonymous = await system.registration.request(method, url, json=body)
        assert anonymous.status_code in (401, 404), (method, url, anonymous.text)
    assert (await _status(system, registration))["status"] == "confirmed"
    both = staff_headers("organiser", ["LV", "EE"])
    assert (await system.registration.get(f"{base}/registrations", headers=both)).status_code == 200


async def test_staff_routes_answer_401_without_a_valid_token(system: System) -> None:
    training = await _open(system)
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic x"}):
        response = await system.registration.get(
            f"/trainings/{training.id}/registrations", headers=headers
        )
        assert response.status_code == 401, response.text
    unknown = await system.registration.get(
        "/trainings/unknown/registrations", headers=staff_headers()
    )
    assert unknown.status_code == 404


# --- staff list --------------------------------------------------------------------------


async def test_staff_list_filters_by_status_country_check_in_and_text(system: System) -> None:
    training = await _open(system, capacity=2)
    alma = await register(
        system.registration,
        training.id,
        person(1, name="Alma Ozola", organisation="Embassy of Latvia in Oslo", country="LV"),
    )
    await register(system.registration, training.id, person(2, name="Bo Ek", country="SE"))
    await register(system.registration, training.id, person(3, name="Cai Li", country="LV"))
    day = training.starts_on
    clock.set(datetime(day.year, day.month, day.day, 6, 0, tzinfo=UTC))
    checked = await system.registration.post(
        f"/registrations/{alma['id']}/check-in", headers=staff_headers()
    )
    assert checked.status_code == 200

    async def names(**params: Any) -> list[str]:
        return [item["name"] for item in await _listed(system, training.id, **params)]

    assert await names() == ["Alma Ozola", "Bo Ek", "Cai Li"]
    assert await names(status="waitlisted") == ["Cai Li"]
    assert await names(status="confirmed,waitlisted") == ["Alma Ozola", "Bo Ek", "Cai Li"]
    assert await names(country="lv") == ["Alma Ozola", "Cai Li"]
    assert await names(checked_in="true") == ["Alma Ozola"]
    assert await names(checked_in="false") == ["Bo Ek", "Cai Li"]
    assert await names(q="oslo") == ["Alma Ozola"]
    assert await names(q="participant3@") == ["Cai Li"]
    assert await names(q="%") == []
    assert await names(limit=1, offset=1) == ["Bo Ek"]
    wrong = await system.registration.get(
        f"/trainings/{training.id}/registrations",
        headers=staff_headers(),
        params={"status": "lost"},
    )
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "status"


async def test_staff_export_is_csv_with_a_header_row_and_defused_formulas(system: System) -> None:
    training = await _open(system, capacity=5)
    await register(
        system.registration,
        training.id,
        person(1, name='=HYPERLINK("http://x")', needs={"diet": "vegetarian"}),
    )
    await register(system.registration, training.id, person(2, name="Bo Ek"))

    response = await system.registration.get(
        f"/trainings/{training.id}/registrations.csv",
        headers=staff_headers("organiser", ["EE"]),
        params={"status": "confirmed"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:6] == ["id", "status", "waitlist_position", "waitlist_reason", "name", "email"]
    assert [row[4] for row in rows[1:]] == ['\'=HYPERLINK("http://x")', "Bo Ek"]
    assert rows[1][rows[0].index("needs_diet")] == "vegetarian"


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"name": None}, 400, "name"),
        ({"email": "not-an-address"}, 422, "email"),
        ({"email": "two@@example.org"}, 422, "email"),
        ({"email": "line\nbreak@example.org"}, 422, "email"),
        ({"country": "XX"}, 422, "country"),
        ({"country": "EST"}, 400, "country"),
        ({"consent": False}, 422, "consent"),
        ({"consent": "yes"}, 400, "consent"),
        ({"name": "N" * 201}, 400, "name"),
        ({"needs": {"diet": "x" * 5001}}, 400, "needs.diet"),
        ({"organisation": "   "}, 422, "organisation"),
        ({"name": "Mari\r\nBcc: evil@evil.example"}, 422, "name"),
        ({"name": "Mari \u202eeT"}, 422, "name"),
        ({"organisation": "MFA\x00"}, 422, "organisation"),
        ({"position": "Consul\u2066"}, 422, "position"),
        ({"needs": {"diet": "vegetarian\x1b[31m"}}, 422, "needs.diet"),
        ({"favourite_colour": "blue"}, 400, "favourite_colour"),
    ],
)
async def test_bad_input_gets_a_problem_naming_the_field_and_stores_nothing(
    system: System, change: dict[str, Any], status: int, field: str
) -> None:
    training = await _open(system)
    address = f"bad.{uuid.uuid4().hex[:8]}@example.org"
    body = {
        key: value
        for key, value in {**person(1, email=address), **change}.items()
        if value is not None
    }
    response = await system.registration.post(f"/trainings/{training.id}/registrations", json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["errors"][0]["field"] == field, problem
    assert await _listed(system, training.id) == []
    held = await system.registration.post(
        "/privacy/export", json={"email": address}, headers=staff_headers()
    )
    assert held.json()["participant"] is None


# Each is something a mail library would read as more (or other) than one recipient, or
# as a header of its own, once the address is put into a "To:" header.
HEADER_SYNTAX = cases(
    {
        "encoded-crlf": "=?utf-8?q?a=0d=0abcc=3a_evil=40evil.example?=@example.org",
        "encoded-comma": "=?utf-8?q?injected=40evil.example=2c_x?=@example.org",
        "crlf": "a\r\nBcc: evil@evil.example@example.org",
        "crlf-after": "a@example.org\r\nBcc: evil@evil.example",
        "nul": "a\x00b@example.org",
        "comma": "a@example.org, evil@evil.example",
        "display-name": "Anna <a@example.org>",
        "quoted": '"evil@evil.example"@example.org',
        "domain-literal": "a@[127.0.0.1]",
        "comment": "a(comment)@example.org",
        "semicolon": "a;b@example.org",
        "bidi-override": "a\u202e@example.org",
    }
)


@pytest.mark.parametrize("address", HEADER_SYNTAX)
async def test_an_address_with_header_syntax_is_refused_everywhere_and_nothing_is_stored(
    system: System, address: str
) -> None:
    training = await _open(system)
    registered = await system.registration.post(
        f"/trainings/{training.id}/registrations", json=person(1, email=address)
    )
    links = await system.registration.post("/manage-link", json={"email": address})
    exported = await system.registration.post(
        "/privacy/export", json={"email": address}, headers=staff_headers()
    )
    erased = await system.registration.post(
        "/privacy/erase", json={"email": address}, headers=staff_headers()
    )
    for response in (registered, links, exported, erased):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["errors"][0]["field"] == "email"
    assert await _listed(system, training.id) == []


async def test_an_oversized_body_or_an_unknown_training_gets_a_problem(system: System) -> None:
    training = await _open(system)
    huge = {**person(1), "position": "x" * (1024 * 1024 + 10)}
    oversized = await system.registration.post(f"/trainings/{training.id}/registrations", json=huge)
    assert oversized.status_code == 413
    assert oversized.headers["content-type"].startswith("application/problem+json")

    unknown = await system.registration.post(
        "/trainings/no-such-training/registrations", json=person(1)
    )
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["field"] == "training_id"

    broken = await system.registration.post(
        f"/trainings/{training.id}/registrations",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert broken.status_code == 400
    assert await _listed(system, training.id) == []


# --- events on the broker -------------------------------------------------------------------


async def test_every_change_of_a_registration_is_an_event_on_the_broker(system: System) -> None:
    training = await _open(system, capacity=1)
    seated = await register(system.registration, training.id, person(1))
    waiting = await register(system.registration, training.id, person(2))
    await _cancel(system, seated)
    day = training.starts_on
    clock.set(datetime(day.year, day.month, day.day, 8, 0, tzinfo=UTC))
    organiser = staff_headers("organiser", ["EE"])
    await system.registration.post(f"/registrations/{waiting['id']}/check-in", headers=organiser)
    await system.registration.delete(f"/registrations/{waiting['id']}/check-in", headers=organiser)
    ids = {seated["id"], waiting["id"]}

    async def emitted() -> list[tuple[str, str, int]]:
        found = [
            (e.subject.rsplit(".", 1)[1], e.data["id"], e.data["revision"])
            for e in await events_about(system.nats.url, ids)
        ]
        assert len(found) == 6, found
        return found

    found = sorted(await eventually(emitted), key=lambda e: (e[1] != seated["id"], e[2]))
    assert found == [
        ("confirmed", seated["id"], 1),
        ("cancelled", seated["id"], 2),
        ("waitlisted", waiting["id"], 1),
        ("confirmed", waiting["id"], 2),
        ("checked_in", waiting["id"], 3),
        ("check_in_undone", waiting["id"], 4),
    ]
    events = await events_about(system.nats.url, {waiting["id"], waiting["participant_id"]})
    checked_in = next(e for e in events if e.subject.endswith("checked_in"))
    assert checked_in.data["email"] == "participant2@example.org"
    assert checked_in.data["name"] == "Participant 2"
    waitlisted = next(e for e in events if e.subject.endswith("waitlisted"))
    assert waitlisted.data["waitlist_position"] == 1
    feed = next(e for e in events if e.subject.endswith("feed_token_set"))
    assert len(feed.data["feed_token_sha256"]) == 64
    assert all("manage_token" not in str(e.data) for e in events)


async def test_pending_and_declined_are_events_too(system: System) -> None:
    training = await _open(system, moderated=True)
    pending = await register(system.registration, training.id, person(1))
    await system.registration.post(
        f"/registrations/{pending['id']}/decline", headers=staff_headers()
    )

    async def emitted() -> list[str]:
        found = [e.subject for e in await events_about(system.nats.url, {pending["id"]})]
        assert found == [
            "registration.registration.pending",
            "registration.registration.declined",
        ], found
        return found

    await eventually(emitted)
