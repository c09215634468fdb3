"""Scheduling over HTTP: lifecycle, permissions, bad input, conflicts and the change log."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shared.clock import clock
from tests.scheduling_support import (
    add_session,
    create_training,
    fresh_day,
    one_scheduling_system_per_module,
    published_training,
    session_body,
    training_body,
)
from tests.support import System, cases

TALLINN = ZoneInfo("Europe/Tallinn")
STOCKHOLM = ZoneInfo("Europe/Stockholm")


system = one_scheduling_system_per_module("scheduling")


@pytest.fixture
def ee(system: System) -> dict[str, str]:
    return system.token("organiser", ["EE"])


# --- trainings and sessions ---------------------------------------------------


async def test_a_training_is_created_as_a_draft_in_the_capital_and_its_zone(
    system: System, ee: dict[str, str]
) -> None:
    training = await create_training(system, ee)
    assert training["status"] == "draft"
    assert training["city"] == "Tallinn" and training["timezone"] == "Europe/Tallinn"
    assert training["register_url"].endswith(f"/register/{training['id']}")
    assert training["webcal_url"].startswith("webcal://")
    assert training["calendar_url"].endswith(f"/trainings/{training['id']}/calendar.ics")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"timezone": "Europe/Atlantis"}, "timezone"),
        ({"timezone": "EET+2"}, "timezone"),
        ({"host_country": "XX"}, "host_country"),
        ({"starts_on": "2031-03-10", "ends_on": "2031-03-09"}, "ends_on"),
        (
            {
                "registration_opens_at": "2031-03-01T10:00:00",
                "registration_closes_at": "2031-02-01T10:00:00",
            },
            "registration_closes_at",
        ),
    ],
)
async def test_a_training_with_a_semantically_wrong_field_gets_422_naming_it(
    system: System, ee: dict[str, str], changes: dict[str, Any], field: str
) -> None:
    headers = system.token("organiser", ["EE", "XX"]) if "host_country" in changes else ee
    response = await system.scheduling.post(
        "/trainings", json=training_body(**changes), headers=headers
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == field


@pytest.mark.parametrize(
    "changes",
    [
        {"capacity": 0},
        {"title": "x" * 201},
        {"description": "x" * 5001},
        {"series": "Not A Slug"},
        {"unknown": 1},
        {"starts_on": "next tuesday"},
        {"language": "English"},
    ],
)
async def test_a_malformed_training_is_rejected_with_a_problem(
    system: System, ee: dict[str, str], changes: dict[str, Any]
) -> None:
    body = {**training_body(), **changes}
    response = await system.scheduling.post("/trainings", json=body, headers=ee)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_session_times_are_wall_clock_in_the_capital_across_a_daylight_saving_change(
    system: System, ee: dict[str, str]
) -> None:
    # Tallinn moves to summer time at 03:00 on the last Sunday of March 2031 (the 30th).
    training = await create_training(
        system, ee, starts_on="2031-03-29", ends_on="2031-03-30", title="Across the change"
    )
    winter = await add_session(
        system, ee, training, start="10:00", end="11:00", room="W", speakers=[]
    )
    summer = await add_session(
        system,
        ee,
        training,
        starts_at="2031-03-30T10:00:00",
        ends_at="2031-03-30T11:00:00",
        room="S",
        speakers=[],
    )
    assert winter["starts_at"] == "2031-03-29T10:00:00+02:00"
    assert summer["starts_at"] == "2031-03-30T10:00:00+03:00"
    night = await system.scheduling.post(
        f"/trainings/{training['id']}/sessions",
        json=session_body("2031-03-30", "03:30", "04:30", room="N", speakers=[]),
        headers=ee,
    )
    assert night.status_code == 422
    assert night.json()["errors"][0]["field"] == "starts_at"
    assert "does not exist" in night.json()["detail"]


async def test_a_session_given_with_an_offset_keeps_its_instant(
    system: System, ee: dict[str, str]
) -> None:
    training = await create_training(system, ee)
    day = training["starts_on"]
    made = await add_session(
        system, ee, training, starts_at=f"{day}T08:00:00Z", ends_at=f"{day}T09:00:00Z"
    )
    expected = datetime.fromisoformat(f"{day}T08:00:00+00:00").astimezone(TALLINN)
    assert made["starts_at"] == expected.isoformat()


@pytest.mark.parametrize(
    ("start", "end"),
    [("11:00", "10:00"), ("10:00", "10:00")],
)
async def test_a_session_ending_before_it_starts_is_rejected(
    system: System, ee: dict[str, str], start: str, end: str
) -> None:
    training = await create_training(system, ee)
    response = await system.scheduling.post(
        f"/trainings/{training['id']}/sessions",
        json=session_body(training["starts_on"], start, end),
        headers=ee,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "ends_at"
    moved = await add_session(system, ee, training)
    patched = await system.scheduling.patch(
        f"/trainings/{training['id']}/sessions/{moved['id']}",
        json={"ends_at": f"{training['starts_on']}T09:00:00"},
        headers=ee,
    )
    assert patched.status_code == 422
    assert patched.json()["errors"][0]["field"] == "ends_at"


@pytest.mark.parametrize(
    "changes",
    [{"kind": "keynote"}, {"title": ""}, {"speakers": [{"organisation": "IOM"}]}],
)
async def test_a_malformed_session_is_rejected(
    system: System, ee: dict[str, str], changes: dict[str, Any]
) -> None:
    training = await create_training(system, ee)
    response = await system.scheduling.post(
        f"/trainings/{training['id']}/sessions",
        json=session_body(training["starts_on"], **changes),
        headers=ee,
    )
    assert response.status_code == 400, response.text


# Characters that split a mail header (CR, LF, NUL, NEL, the line separator) or make a
# title read otherwise than it is stored (bidi overrides and isolates).
UNSAFE_IN_A_LINE = cases(
    {
        "crlf": "Trafficking\r\nBcc: evil@evil.example",
        "lf": "Trafficking\nin human beings",
        "nul": "Trafficking\x00",
        "del": "Trafficking\x7f",
        "nel": "Trafficking\x85",
        "line-separator": "Trafficking\u2028",
        "right-to-left-override": "Trafficking \u202egnp.exe",
        "isolate": "Trafficking \u2066isolated\u2069",
    }
)


@pytest.mark.parametrize("text", UNSAFE_IN_A_LINE)
async def test_a_title_or_name_with_control_or_bidi_characters_is_refused_naming_it(
    system: System, ee: dict[str, str], text: str
) -> None:
    training = await create_training(system, ee)
    attempts = [
        ("post", "/trainings", training_body(title=text), "title"),
        ("post", "/trainings", training_body(venue=text), "venue"),
        ("post", "/trainings", training_body(city=text), "city"),
        ("patch", f"/trainings/{training['id']}", {"title": text}, "title"),
        ("put", "/series/cbss-thb", {"title": text}, "title"),
        (
            "post",
            f"/trainings/{training['id']}/sessions",
            session_body(training["starts_on"], title=text),
            "title",
        ),
        (
            "post",
            f"/trainings/{training['id']}/sessions",
            session_body(training["starts_on"], speakers=[{"name": text}]),
            "speakers[0].name",
        ),
    ]
    for method, path, body, field in attempts:
        response = await getattr(system.scheduling, method)(path, json=body, headers=ee)
        assert response.status_code == 422, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["errors"][0]["field"] == field, response.json()
    stored = await system.scheduling.get(f"/trainings/{training['id']}", headers=ee)
    assert stored.json()["title"] == training["title"] and stored.json()["sessions"] == []


async def test_free_text_keeps_line_breaks_and_tabs_but_no_other_control_characters(
    system: System, ee: dict[str, str]
) -> None:
    kept = await create_training(system, ee, description="Day one:\n\tarrival\nDay two")
    assert kept["description"] == "Day one:\n\tarrival\nDay two"
    for text in ("a\r\nb", "a\x00b", "a\x1bb", "a\u202eb"):
        response = await system.scheduling.post(
            "/trainings", json=training_body(description=text), headers=ee
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "description"


# --- lifecycle -------------------------------------------------------------------


async def test_a_training_without_a_live_session_cannot_be_published(
    system: System, ee: dict[str, str]
) -> None:
    training = await create_training(system, ee)
    empty = await system.scheduling.post(f"/trainings/{training['id']}/publish", headers=ee)
    assert empty.status_code == 409
    assert "at least one session" in empty.json()["detail"]
    only = await add_session(system, ee, training)
    await system.scheduling.post(
        f"/trainings/{training['id']}/sessions/{only['id']}/cancel", headers=ee
    )
    cancelled_only = await system.scheduling.post(
        f"/trainings/{training['id']}/publish", headers=ee
    )
    assert cancelled_only.status_code == 409


async def test_lifecycle_runs_from_draft_to_published_to_completed(
    system: System, ee: dict[str, str]
) -> None:
    training, (session,) = await published_training(system, ee)
    assert training["status"] == "published"
    again = await system.scheduling.post(f"/trainings/{training['id']}/publish", headers=ee)
    assert again.status_code == 409

    early = await system.scheduling.post(f"/trainings/{training['id']}/complete", headers=ee)
    assert early.status_code == 409
    assert "first day" in early.json()["detail"]

    # Midnight of the first day in Tallinn is 22:00 UTC the evening before.
    first_day = date.fromisoformat(training["starts_on"])
    clock.set(datetime.combine(first_day, datetime.min.time(), UTC) - timedelta(hours=2))
    ee = system.token("organiser", ["EE"])
    done = await system.scheduling.post(f"/trainings/{training['id']}/complete", headers=ee)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed"

    for method, path, body in (
        ("PATCH", f"/trainings/{training['id']}", {"title": "Renamed"}),
        ("POST", f"/trainings/{training['id']}/sessions", session_body(training["starts_on"])),
        ("PATCH", f"/trainings/{training['id']}/sessions/{session['id']}", {"title": "New"}),
        ("POST", f"/trainings/{training['id']}/sessions/{session['id']}/cancel", None),
        ("POST", f"/trainings/{training['id']}/cancel", None),
        ("POST", f"/trainings/{training['id']}/complete", None),
    ):
        response = await system.scheduling.request(method, path, json=body, headers=ee)
        assert response.status_code == 409, (method, path, response.text)


async def test_cancelling_a_training_cancels_its_sessions_and_freezes_it(
    system: System, ee: dict[str, str]
) -> None:
    training, _ = await published_training(system, ee, sessions=2)
    response = await system.scheduling.post(
        f"/trainings/{training['id']}/cancel", json={"reason": "Venue unavailable"}, headers=ee
    )
    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert cancelled["status"] == "cancelled"
    assert [s["status"] for s in cancelled["sessions"]] == ["cancelled", "cancelled"]
    assert [s["sequence"] for s in cancelled["sessions"]] == [1, 1]
    patched = await system.scheduling.patch(
        f"/trainings/{training['id']}", json={"title": "Renamed"}, headers=ee
    )
    assert patched.status_code == 409
    published = await system.scheduling.post(f"/trainings/{training['id']}/publish", headers=ee)
    assert published.status_code == 409


async def one_session(
    system: System, ee: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A published training with one session, the session, and the session's path."""
    training, (session,) = await published_training(system, ee)
    return training, session, f"/trainings/{training['id']}/sessions/{session['id']}"


async def test_a_cancelled_session_cannot_be_changed_and_cancelling_again_changes_nothing(
    system: System, ee: dict[str, str]
) -> None:
    _, _, path = await one_session(system, ee)
    first = await system.scheduling.post(f"{path}/cancel", headers=ee)
    assert first.json()["status"] == "cancelled" and first.json()["sequence"] == 1
    second = await system.scheduling.post(f"{path}/cancel", headers=ee)
    assert second.json()["sequence"] == 1
    patched = await system.scheduling.patch(path, json={"title": "Back"}, headers=ee)
    assert patched.status_code == 409


async def test_sequence_rises_on_a_time_change_and_not_on_a_title_change(
    system: System, ee: dict[str, str]
) -> None:
    training, session, path = await one_session(system, ee)
    retitled = await system.scheduling.patch(path, json={"title": "New title"}, headers=ee)
    assert retitled.json()["sequence"] == 0
    assert retitled.json()["revision"] == session["revision"] + 1
    moved = await system.scheduling.patch(
        path, json={"starts_at": f"{training['starts_on']}T08:30:00"}, headers=ee
    )
    assert moved.json()["sequence"] == 1
    unchanged = await system.scheduling.patch(
        path, json={"starts_at": f"{training['starts_on']}T08:30:00"}, headers=ee
    )
    assert unchanged.json()["sequence"] == 1
    assert unchanged.json()["revision"] == moved.json()["revision"]


async def test_changing_the_zone_keeps_the_wall_clock_hours_and_raises_sequence(
    system: System, ee: dict[str, str]
) -> None:
    training, (session,) = await published_training(system, ee)
    response = await system.scheduling.patch(
        f"/trainings/{training['id']}", json={"timezone": "Europe/Helsinki"}, headers=ee
    )
    assert response.status_code == 200, response.text
    (moved,) = response.json()["sessions"]
    # Helsinki and Tallinn share their offset: the instant stays, nothing to tell calendars.
    assert moved["starts_at"] == session["starts_at"] and moved["sequence"] == 0
    response = await system.scheduling.patch(
        f"/trainings/{training['id']}", json={"timezone": "Europe/Riga"}, headers=ee
    )
    (same,) = response.json()["sessions"]
    assert same["sequence"] == 0
    response = await system.scheduling.patch(
        f"/trainings/{training['id']}", json={"timezone": "Europe/Stockholm"}, headers=ee
    )
    (moved,) = response.json()["sessions"]
    same_hours = datetime.fromisoformat(session["starts_at"]).replace(tzinfo=STOCKHOLM)
    assert moved["starts_at"] == same_hours.isoformat()
    assert moved["sequence"] == 1


# --- who may do what ---------------------------------------------------------------


async def test_an_organiser_of_another_country_gets_403_on_a_published_training(
    system: System, ee: dict[str, str]
) -> None:
    training, (session,) = await published_training(system, ee)
    lv = system.token("organiser", ["LV"])
    base = f"/trainings/{training['id']}"
    for method, path, body in (
        ("PATCH", base, {"title": "Mine now"}),
        ("PATCH", base, {"capacity": "not a number"}),  # 403 comes before validation
        ("POST", f"{base}/sessions", session_body(training["starts_on"])),
        ("PATCH", f"{base}/sessions/{session['id']}", {"title": "x"}),
        ("POST", f"{base}/sessions/{session['id']}/cancel", None),
        ("POST", f"{base}/complete", None),
        ("POST", f"{base}/cancel", None),
        ("GET", f"{base}/conflicts", None),
        ("GET", f"{base}/changes", None),
    ):
        response = await system.scheduling.request(method, path, json=body, headers=lv)
        assert response.status_code == 403, (method, path, response.text)
    created = await system.scheduling.post("/trainings", json=training_body(), headers=lv)
    assert created.status_code == 403


async def test_without_a_token_writes_get_401_before_validation(system: System) -> None:
    ee = system.token("organiser", ["EE"])
    training, _ = await published_training(system, ee)
    for method, path, body in (
        ("POST", "/trainings", {"nonsense": True}),
        ("PATCH", f"/trainings/{training['id']}", {"capacity": "many"}),
        ("POST", f"/trainings/{training['id']}/publish", None),
        ("GET", f"/trainings/{training['id']}/changes", None),
        ("GET", f"/trainings/{training['id']}/conflicts", None),
        ("PUT", "/series/cbss-thb", {"title": "x"}),
    ):
        response = await system.scheduling.request(method, path, json=body)
        assert response.status_code == 401, (method, path, response.text)
    forged = {"Authorization": "Bearer not-a-token"}
    response = await system.scheduling.post("/trainings", json=training_body(), headers=forged)
    assert response.status_code == 401


async def test_the_public_sees_published_trainings_only(system: System, ee: dict[str, str]) -> None:
    draft = await create_training(system, ee, series="visibility")
    published, _ = await published_training(system, ee, series="visibility")

    public = await system.scheduling.get("/trainings", params={"series": "visibility"})
    assert [t["id"] for t in public.json()["items"]] == [published["id"]]
    assert (await system.scheduling.get(f"/trainings/{draft['id']}")).status_code == 404
    assert (await system.scheduling.get(f"/trainings/{published['id']}")).status_code == 200

    own = await system.scheduling.get("/trainings", params={"series": "visibility"}, headers=ee)
    assert {t["id"] for t in own.json()["items"]} == {draft["id"], published["id"]}
    lv = system.token("organiser", ["LV"])
    foreign = await system.scheduling.get(f"/trainings/{draft['id']}", headers=lv)
    assert foreign.status_code == 404
    # A draft of another country is not even admitted to exist to its would-be editors.
    patched = await system.scheduling.patch(
        f"/trainings/{draft['id']}", json={"title": "x"}, headers=lv
    )
    assert patched.status_code == 404
    draft_feed = await system.scheduling.get(f"/trainings/{draft['id']}/calendar.ics")
    assert draft_feed.status_code == 404


async def test_the_secretariat_acts_on_every_country(system: System, ee: dict[str, str]) -> None:
    training = await create_training(system, ee)
    secretariat = system.token()
    response = await system.scheduling.patch(
        f"/trainings/{training['id']}", json={"capacity": 12}, headers=secretariat
    )
    assert response.status_code == 200 and response.json()["capacity"] == 12
    created = await system.scheduling.post(
        "/trainings",
        json=training_body(host_country="NO", venue="Utenriksdepartementet"),
        headers=secretariat,
    )
    assert created.status_code == 201
    assert created.json()["city"] == "Oslo" and created.json()["timezone"] == "Europe/Oslo"


async def test_a_series_spanning_countries_is_renamed_by_the_secretariat_only(
    system: System, ee: dict[str, str]
) -> None:
    await create_training(system, ee, series="baltic-sea")
    await create_training(
        system, system.token("organiser", ["LV"]), series="baltic-sea", host_country="LV"
    )
    denied = await system.scheduling.put("/series/baltic-sea", json={"title": "Mine"}, headers=ee)
    assert denied.status_code == 403
    renamed = await system.scheduling.put(
        "/series/baltic-sea", json={"title": "Baltic Sea trainings"}, headers=system.token()
    )
    assert renamed.status_code == 200 and renamed.json()["title"] == "Baltic Sea trainings"
    own = await system.scheduling.put("/series/tallinn-only", json={"title": "Ours"}, headers=ee)
    assert own.status_code == 200
    bad = await system.scheduling.put("/series/Bad Slug", json={"title": "x"}, headers=ee)
    assert bad.status_code == 422
    listed = await system.scheduling.get("/series")
    assert {"baltic-sea", "tallinn-only"} <= {s["slug"] for s in listed.json()["items"]}


# --- conflicts -------------------------------------------------------------------


async def conflicts_of(system: System, training: dict[str, Any], headers: dict[str, str]) -> list:
    response = await system.scheduling.get(
        f"/trainings/{training['id']}/conflicts", headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


async def test_a_session_outside_the_training_dates_is_refused_naming_starts_at(
    system: System, ee: dict[str, str]
) -> None:
    """Issue 10: once a warning, now a 422; a session may still run until the last midnight."""
    training = await create_training(system, ee)
    day = date.fromisoformat(training["starts_on"])
    evening_before = await system.scheduling.post(
        f"/trainings/{training['id']}/sessions",
        json=session_body(
            training["starts_on"],
            starts_at=f"{day - timedelta(days=1)}T19:00:00",
            ends_at=f"{day - timedelta(days=1)}T21:00:00",
            kind="networking",
        ),
        headers=ee,
    )
    assert evening_before.status_code == 422, evening_before.text
    assert evening_before.json()["errors"][0]["field"] == "starts_at"
    until_midnight = await add_session(
        system,
        ee,
        training,
        starts_at=f"{day}T22:00:00",
        ends_at=f"{day + timedelta(days=1)}T00:00:00",
        room="Terrace",
        speakers=[],
    )
    assert until_midnight["conflicts"] == []
    moved = await system.scheduling.patch(
        f"/trainings/{training['id']}/sessions/{until_midnight['id']}",
        json={"starts_at": f"{day - timedelta(days=2)}T22:00:00"},
        headers=ee,
    )
    assert moved.status_code == 422, moved.text
    assert moved.json()["errors"][0]["field"] == "starts_at"
    assert await conflicts_of(system, training, ee) == []


async def test_new_dates_that_leave_sessions_outside_are_refused_unless_they_shift_them(
    system: System, ee: dict[str, str]
) -> None:
    first = fresh_day()
    last = first + timedelta(days=1)
    training = await create_training(system, ee, starts_on=first, ends_on=str(last))
    late = await add_session(
        system, ee, training, starts_at=f"{last}T15:00:00", ends_at=f"{last}T16:00:00"
    )
    url = f"/trainings/{training['id']}"
    later = {"starts_on": str(first + timedelta(days=7)), "ends_on": str(last + timedelta(days=7))}
    refused = await system.scheduling.patch(url, json=later, headers=ee)
    assert refused.status_code == 409, refused.text
    assert [s["id"] for s in refused.json()["sessions"]] == [late["id"]]
    shorter = await system.scheduling.patch(url, json={"ends_on": str(first)}, headers=ee)
    assert shorter.status_code == 409, shorter.text
    shifted = await system.scheduling.patch(url, json={**later, "shift_sessions": True}, headers=ee)
    assert shifted.status_code == 200, shifted.text
    sessions = (await system.scheduling.get(url, headers=ee)).json()["sessions"]
    assert [s["starts_at"][:19] for s in sessions] == [f"{last + timedelta(days=7)}T15:00:00"]


async def test_a_room_booked_twice_blocks_publication_until_overridden(
    system: System, ee: dict[str, str]
) -> None:
    training = await create_training(system, ee)
    first = await add_session(system, ee, training, start="10:00", end="11:00", speakers=[])
    second = await add_session(
        system, ee, training, start="10:30", end="12:00", title="Panel", speakers=[]
    )
    back_to_back = await add_session(
        system, ee, training, start="12:00", end="13:00", title="Lunch talk", speakers=[]
    )
    assert back_to_back["conflicts"] == []
    assert [c["kind"] for c in second["conflicts"]] == ["room"]
    (clash,) = await conflicts_of(system, training, ee)
    assert clash["kind"] == "room" and clash["blocking"] is True
    assert {s["id"] for s in clash["sessions"]} == {first["id"], second["id"]}
    assert "Hall A" in clash["message"]

    refused = await system.scheduling.post(f"/trainings/{training['id']}/publish", headers=ee)
    assert refused.status_code == 409
    assert "Hall A" in refused.json()["detail"]
    assert refused.json()["conflicts"][0]["kind"] == "room"
    assert (await system.scheduling.get(f"/trainings/{training['id']}", headers=ee)).json()[
        "status"
    ] == "draft"

    published = await system.scheduling.post(
        f"/trainings/{training['id']}/publish",
        params={"override_conflicts": "true"},
        headers=ee,
    )
    assert published.status_code == 200, published.text
    changes = await system.scheduling.get(f"/trainings/{training['id']}/changes", headers=ee)
    (entry,) = changes.json()["items"]
    assert entry["what"] == "training.published"
    assert "Hall A" in entry["after"]["overridden_conflicts"][0]


async def test_a_room_shared_across_trainings_clashes_only_at_the_same_venue(
    system: System, ee: dict[str, str]
) -> None:
    day = fresh_day()
    other, _ = await published_training(system, ee, starts_on=day, title="Other training")
    here = await create_training(system, ee, starts_on=day, title="This training")
    # published_training booked Room 1 from 09:00 to 09:45.
    await add_session(system, ee, here, start="09:30", end="10:30", room="room  1", speakers=[])
    (clash,) = await conflicts_of(system, here, ee)
    assert clash["kind"] == "room"
    assert {s["training_id"] for s in clash["sessions"]} == {here["id"], other["id"]}
    assert "Other training" in clash["message"]

    elsewhere = await create_training(
        system, ee, starts_on=day, venue="Kadriorg Palace", title="Elsewhere"
    )
    await add_session(system, ee, elsewhere, start="09:30", end="10:30", room="Room 1")
    assert await conflicts_of(system, elsewhere, ee) == []
    # Body form of the override.
    published = await system.scheduling.post(
        f"/trainings/{here['id']}/publish", json={"override_conflicts": True}, headers=ee
    )
    assert published.status_code == 200


async def test_a_speaker_in_two_places_at_once_is_found_across_trainings_by_name(
    system: System, ee: dict[str, str]
) -> None:
    day = fresh_day()
    riga = await create_training(
        system,
        system.token("organiser", ["LV"]),
        starts_on=day,
        host_country="LV",
        venue="Ministry of Foreign Affairs, K. Valdemāra iela 3",
        title="Riga training",
    )
    await add_session(
        system,
        system.token("organiser", ["LV"]),
        riga,
        start="14:00",
        end="15:00",
        speakers=[{"name": "Jüri  Tamm", "organisation": "IOM"}],
        room="Riga hall",
    )
    published = await system.scheduling.post(
        f"/trainings/{riga['id']}/publish", headers=system.token("organiser", ["LV"])
    )
    assert published.status_code == 200
    tallinn = await create_training(system, ee, starts_on=day, title="Tallinn training")
    # Riga and Tallinn keep the same clock, so 14:30-16:00 here overlaps 14:00-15:00 there.
    made = await add_session(
        system, ee, tallinn, start="14:30", end="16:00", speakers=[{"name": "juri tamm."}]
    )
    (clash,) = made["conflicts"]
    assert clash["kind"] == "speaker" and clash["blocking"]
    assert "Jüri  Tamm" in clash["message"] and "Riga training" in clash["message"]
    refused = await system.scheduling.post(f"/trainings/{tallinn['id']}/publish", headers=ee)
    assert refused.status_code == 409
    assert refused.json()["conflicts"][0]["kind"] == "speaker"


async def test_another_countrys_draft_is_never_revealed_as_a_conflict(
    system: System, ee: dict[str, str]
) -> None:
    day = fresh_day()
    lv = system.token("organiser", ["LV"])
    riga = await create_training(system, lv, starts_on=day, host_country="LV", title="Secret")
    await add_session(system, lv, riga, speakers=[{"name": "Anna Lindqvist"}])
    tallinn = await create_training(system, ee, starts_on=day)
    await add_session(system, ee, tallinn, speakers=[{"name": "Anna Lindqvist"}])
    assert await conflicts_of(system, tallinn, ee) == []
    # The secretariat sees every draft, so it sees the clash.
    (clash,) = await conflicts_of(system, tallinn, system.token())
    assert clash["kind"] == "speaker"


# --- change log --------------------------------------------------------------------


async def test_every_change_to_a_published_training_is_logged_with_before_after_who_and_when(
    system: System,
) -> None:
    clock.set(datetime(2030, 6, 1, 9, 0, tzinfo=UTC))
    ee = system.token("organiser", ["EE"])
    training = await create_training(system, ee)
    session = await add_session(system, ee, training)
    await system.scheduling.patch(
        f"/trainings/{training['id']}", json={"title": "Draft rename"}, headers=ee
    )
    await system.scheduling.post(f"/trainings/{training['id']}/publish", headers=ee)
    clock.advance(timedelta(hours=1))
    await system.scheduling.patch(
        f"/trainings/{training['id']}",
        json={"venue": "Kadriorg Palace", "capacity": 40},
        headers=ee,
    )
    await system.scheduling.patch(
        f"/trainings/{training['id']}/sessions/{session['id']}",
        json={"starts_at": f"{training['starts_on']}T09:30:00", "room": "Hall B"},
        headers=ee,
    )
    added = await add_session(system, ee, training, start="13:00", end="14:00", room="Hall C")
    await system.scheduling.post(
        f"/trainings/{training['id']}/sessions/{added['id']}/cancel", headers=ee
    )

    response = await system.scheduling.get(f"/trainings/{training['id']}/changes", headers=ee)
    assert response.status_code == 200
    items = response.json()["items"]
    assert [i["what"] for i in items] == [
        "training.published",
        "training.updated",
        "session.updated",
        "session.scheduled",
        "session.cancelled",
    ]
    published, updated, moved, scheduled, cancelled = items
    assert published["at"].startswith("2030-06-01T09:00:00")
    assert updated["before"] == {
        "venue": "Ministry of Foreign Affairs, Islandi väljak 1",
        "capacity": 30,
    }
    assert updated["after"] == {"venue": "Kadriorg Palace", "capacity": 40}
    assert updated["at"].startswith("2030-06-01T10:00:00")
    assert moved["session_id"] == session["id"]
    day = date.fromisoformat(training["starts_on"])
    assert moved["before"] == {
        "starts_at": datetime.combine(day, time(10), TALLINN).isoformat(),
        "room": "Hall A",
    }
    assert moved["after"] == {
        "starts_at": datetime.combine(day, time(9, 30), TALLINN).isoformat(),
        "room": "Hall B",
    }
    assert scheduled["before"] is None and scheduled["after"]["room"] == "Hall C"
    assert cancelled["after"] == {"status": "cancelled"}
    assert {i["who"] for i in items} == {items[0]["who"]}
    assert items[0]["who"].startswith("organiser-")

    secretariat = await system.scheduling.get(
        f"/trainings/{training['id']}/changes", headers=system.token()
    )
    assert secretariat.status_code == 200 and len(secretariat.json()["items"]) == 5


async def test_the_openapi_document_names_every_operation_once(system: System) -> None:
    response = await system.scheduling.get("/schema/openapi.json")
    assert response.status_code == 200
    operations = [
        operation["operationId"]
        for methods in response.json()["paths"].values()
        for operation in methods.values()
        if isinstance(operation, dict) and "operationId" in operation
    ]
    assert len(operations) == len(set(operations))
    assert {"publishTraining", "listConflicts", "listChanges", "seriesCalendar"} <= set(operations)
    head = await system.scheduling.head("/series/no-such-series/calendar.ics")
    assert head.status_code == 404
