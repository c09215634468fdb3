"""The training, series and personal calendar feeds as served over HTTP, property by property."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from ical.timezone import IcsTimezoneInfo

from services.scheduling.feeds import feed_cache
from shared.clock import clock
from shared.events import contracts as ev
from tests.scheduling_support import (
    across_the_autumn_change,
    add_session,
    create_training,
    event_lines,
    published_training,
    scheduling_system,
    session_body,
    strict,
    uid_of,
    vevents,
)
from tests.support import DATABASE_KINDS, System, database_kind, eventually, publish


@pytest.fixture(scope="module", params=DATABASE_KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return database_kind(request.param)


@pytest.fixture(scope="module")
async def system(kind: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[System]:
    """One scheduling service per database kind for the module; tests use series of their own."""
    async with scheduling_system(tmp_path_factory.mktemp("feeds"), kind) as running:
        yield running


def series_slug() -> str:
    return f"feeds-{uuid.uuid4().hex[:8]}"


async def feed(system: System, path: str, **headers: str) -> bytes:
    response = await system.scheduling.get(path, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    return response.content


def head_lines(body: bytes) -> list[str]:
    text = body.decode().replace("\r\n ", "")
    return text.split("BEGIN:VEVENT")[0].split("BEGIN:VTIMEZONE")[0].split("\r\n")


def prop(event: icalendar.Event, name: str) -> Any:
    return event.decoded(name)


# --- what every feed carries ---------------------------------------------------------


async def test_breaks_are_on_the_timetable_but_not_in_the_feeds(system: System) -> None:
    ee = system.token("organiser", ["EE"])
    slug = series_slug()
    training = await create_training(
        system, ee, series=slug, title="Training for consular staff, Tallinn"
    )
    lecture = await add_session(system, ee, training, title="Opening", start="09:00", end="10:00")
    coffee = await add_session(
        system, ee, training, title="Coffee", kind="break", start="10:00", end="10:30"
    )
    await system.scheduling.post(f"/trainings/{training['id']}/publish", headers=ee)
    page = await system.scheduling.get(f"/trainings/{training['id']}/page")
    assert "Coffee" in page.text and "Opening" in page.text
    for path in (f"/trainings/{training['id']}/calendar.ics", f"/series/{slug}/calendar.ics"):
        body = await feed(system, path)
        strict(body)
        assert set(vevents(body)) == {uid_of(lecture["id"])}
        assert uid_of(coffee["id"]) not in body.decode()
        assert "CATEGORIES:Lecture" in body.decode()
    # The title names the capital already: the calendar's name does not repeat it.
    own = head_lines(await feed(system, f"/trainings/{training['id']}/calendar.ics"))
    assert "X-WR-CALNAME:Training for consular staff\\, Tallinn" in own


async def test_each_feed_carries_name_refresh_interval_and_ttl_and_no_method(
    system: System,
) -> None:
    ee = system.token("organiser", ["EE"])
    slug = series_slug()
    training, _ = await published_training(system, ee, series=slug)
    await system.scheduling.put(f"/series/{slug}", json={"title": "CBSS trainings"}, headers=ee)
    for path, name in (
        (f"/trainings/{training['id']}/calendar.ics", f"{training['title']} (Tallinn)"),
        (f"/series/{slug}/calendar.ics", "CBSS trainings"),
    ):
        body = await feed(system, path)
        strict(body)
        lines = head_lines(body)
        assert lines[:2] == ["BEGIN:VCALENDAR", "VERSION:2.0"]
        assert any(line.startswith("PRODID:") for line in lines)
        assert f"NAME:{name}" in lines and f"X-WR-CALNAME:{name}" in lines
        assert "REFRESH-INTERVAL;VALUE=DURATION:PT6H" in lines
        assert "X-PUBLISHED-TTL:PT6H" in lines
        assert not any(line.startswith("METHOD") for line in body.decode().split("\r\n"))


async def test_an_event_carries_venue_description_and_page_link_and_no_personal_data(
    system: System,
) -> None:
    ee = system.token("organiser", ["EE"])
    training, (session,) = await published_training(
        system, ee, description="Bring your passport; lunch is provided."
    )
    body = await feed(system, f"/trainings/{training['id']}/calendar.ics")
    event = vevents(body)[uid_of(session["id"])]
    assert str(event["UID"]) == f"session-{session['id']}@capitals"
    assert "Ministry of Foreign Affairs" in str(event["LOCATION"])
    assert "Room 1" in str(event["LOCATION"])
    description = str(event["DESCRIPTION"])
    assert "Bring your passport; lunch is provided." in description
    assert training["page_url"] in description
    assert str(event["URL"]) == training["page_url"]
    assert str(event["STATUS"]) == "CONFIRMED"
    assert "ATTENDEE" not in event and "ORGANIZER" not in event


async def test_text_is_escaped_and_folded_at_75_octets_and_control_characters_never_reach_it(
    system: System,
) -> None:
    ee = system.token("organiser", ["EE"])
    training = await create_training(system, ee)
    title = "Victims; witnesses, and traffickers: Ülevaade " + "ž" * 60
    refused = await system.scheduling.post(
        f"/trainings/{training['id']}/sessions",
        json=session_body(training["starts_on"], title="Victims\x1b[31m traffickers"),
        headers=ee,
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "title"
    made = await add_session(system, ee, training, title=title, description="Line 1\nLine 2")
    await system.scheduling.post(f"/trainings/{training['id']}/publish", headers=ee)
    body = await feed(system, f"/trainings/{training['id']}/calendar.ics")
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))
    assert b"\x1b" not in body
    event = vevents(body)[uid_of(made["id"])]
    assert str(event["SUMMARY"]) == title
    assert str(event["DESCRIPTION"]).startswith("Line 1\nLine 2")


# --- identity, stamps and sequence ---------------------------------------------------


async def test_uids_are_the_same_in_all_three_feeds_and_across_requests(system: System) -> None:
    ee = system.token("organiser", ["EE"])
    slug = series_slug()
    training, sessions = await published_training(system, ee, sessions=2, series=slug)
    token, participant = await subscribed_participant(system)
    await confirm(system, participant, training["id"])
    expected = {uid_of(s["id"]) for s in sessions}
    paths = [
        f"/trainings/{training['id']}/calendar.ics",
        f"/series/{slug}/calendar.ics",
        f"/calendars/{token}.ics",
    ]

    async def personal_listed() -> bool:
        assert set(vevents(await feed(system, paths[2]))) == expected
        return True

    await eventually(personal_listed)
    for path in paths:
        assert set(vevents(await feed(system, path))) == expected
        assert set(vevents(await feed(system, path))) == expected


async def test_dtstamp_and_last_modified_are_the_sessions_revision_not_the_request_time(
    system: System,
) -> None:
    created = datetime(2030, 9, 1, 8, 0, tzinfo=UTC)
    clock.set(created)
    ee = system.token("organiser", ["EE"])
    training, (session,) = await published_training(system, ee)
    path = f"/trainings/{training['id']}/calendar.ics"
    uid = uid_of(session["id"])

    clock.set(created + timedelta(days=3))
    first = vevents(await feed(system, path))[uid]
    clock.advance(timedelta(hours=5))
    second = vevents(await feed(system, path))[uid]
    for event in (first, second):
        assert prop(event, "DTSTAMP") == created
        assert prop(event, "LAST-MODIFIED") == created

    # A new venue is in every event's LOCATION, so every event is newly stamped.
    renamed = created + timedelta(days=4)
    clock.set(renamed)
    ee = system.token("organiser", ["EE"])
    await system.scheduling.patch(
        f"/trainings/{training['id']}", json={"venue": "Kadriorg Palace"}, headers=ee
    )
    moved = vevents(await feed(system, path))[uid]
    assert prop(moved, "DTSTAMP") == renamed and prop(moved, "SEQUENCE") == 0
    assert "Kadriorg Palace" in str(moved["LOCATION"])


async def test_a_time_change_raises_sequence_by_one_and_keeps_the_uid(system: System) -> None:
    ee = system.token("organiser", ["EE"])
    slug = series_slug()
    training, (session,) = await published_training(system, ee, series=slug)
    uid = uid_of(session["id"])
    paths = [f"/trainings/{training['id']}/calendar.ics", f"/series/{slug}/calendar.ics"]
    before = [vevents(await feed(system, p))[uid] for p in paths]
    clock.set(datetime.now(UTC) + timedelta(minutes=5))
    ee = system.token("organiser", ["EE"])
    await system.scheduling.patch(
        f"/trainings/{training['id']}/sessions/{session['id']}",
        json={"starts_at": f"{training['starts_on']}T08:15:00"},
        headers=ee,
    )
    for path, old in zip(paths, before, strict=True):
        new = vevents(await feed(system, path))[uid]
        assert prop(new, "SEQUENCE") == prop(old, "SEQUENCE") + 1
        assert prop(new, "DTSTART").hour == 8 and prop(new, "DTSTART").minute == 15
        assert prop(new, "DTSTAMP") > prop(old, "DTSTAMP")
    retitled = await system.scheduling.patch(
        f"/trainings/{training['id']}/sessions/{session['id']}",
        json={"title": "Renamed only"},
        headers=ee,
    )
    assert retitled.status_code == 200
    event = vevents(await feed(system, paths[0]))[uid]
    assert prop(event, "SEQUENCE") == 1 and str(event["SUMMARY"]) == "Renamed only"


async def test_a_cancelled_session_stays_cancelled_with_sequence_plus_one(system: System) -> None:
    ee = system.token("organiser", ["EE"])
    training, (kept, dropped) = await published_training(system, ee, sessions=2)
    path = f"/trainings/{training['id']}/calendar.ics"
    await system.scheduling.post(
        f"/trainings/{training['id']}/sessions/{dropped['id']}/cancel", headers=ee
    )
    events = vevents(await feed(system, path))
    assert set(events) == {uid_of(kept["id"]), uid_of(dropped["id"])}
    assert str(events[uid_of(dropped["id"])]["STATUS"]) == "CANCELLED"
    assert prop(events[uid_of(dropped["id"])], "SEQUENCE") == 1
    assert str(events[uid_of(kept["id"])]["STATUS"]) == "CONFIRMED"


async def test_a_cancelled_training_stays_in_the_series_feed_with_every_session_cancelled(
    system: System,
) -> None:
    ee = system.token("organiser", ["EE"])
    slug = series_slug()
    training, sessions = await published_training(system, ee, sessions=2, series=slug)
    await system.scheduling.post(f"/trainings/{training['id']}/cancel", headers=ee)
    events = vevents(await feed(system, f"/series/{slug}/calendar.ics"))
    assert {str(e["STATUS"]) for e in events.values()} == {"CANCELLED"}
    assert {prop(e, "SEQUENCE") for e in events.values()} == {1}
    assert set(events) == {uid_of(s["id"]) for s in sessions}


# --- time zones ------------------------------------------------------------------------


async def test_vtimezones_match_zoneinfo_at_every_start_and_end_even_across_dst(
    system: System,
) -> None:
    slug = series_slug()
    se = system.token("organiser", ["SE"])
    autumn, across = await across_the_autumn_change(system, se, series=slug)
    assert autumn["timezone"] == "Europe/Stockholm"
    assert across["starts_at"] == "2031-10-26T01:30:00+02:00"
    assert across["ends_at"] == "2031-10-26T03:30:00+01:00"
    await add_session(system, se, autumn, start="10:00", end="11:00", room="B", speakers=[])
    spring = await create_training(
        system, se, series=slug, host_country="SE", starts_on="2031-03-30", ends_on="2031-03-30"
    )
    await add_session(
        system,
        se,
        spring,
        starts_at="2031-03-30T01:30:00",
        ends_at="2031-03-30T03:30:00",
        speakers=[],
    )
    ee = system.token("organiser", ["EE"])
    tallinn = await create_training(system, ee, series=slug, starts_on="2031-07-01")
    await add_session(system, ee, tallinn, speakers=[])
    for training, token in ((autumn, se), (spring, se), (tallinn, ee)):
        response = await system.scheduling.post(
            f"/trainings/{training['id']}/publish", headers=token
        )
        assert response.status_code == 200, response.text
    listed = await system.scheduling.get("/trainings", params={"series": slug})
    sessions = {s["id"]: (s, t["timezone"]) for t in listed.json()["items"] for s in t["sessions"]}

    body = await feed(system, f"/series/{slug}/calendar.ics")
    text = body.decode()
    assert text.count("BEGIN:VTIMEZONE") == 2
    assert text.index("END:VTIMEZONE") < text.index("BEGIN:VEVENT")
    assert "X-WR-TIMEZONE" not in text
    assert "RDATE" not in text and "RRULE:FREQ=YEARLY" in text

    calendar = strict(body)
    zones = {tz.tz_id: IcsTimezoneInfo.from_timezone(tz) for tz in calendar.timezones}
    assert set(zones) == {"Europe/Stockholm", "Europe/Tallinn"}
    readers = {
        str(z["TZID"]): z.to_tz(lookup_tzid=False)
        for z in icalendar.Calendar.from_ical(body).walk("VTIMEZONE")
    }
    checked = 0
    for uid in vevents(body):
        session, tzid = next(v for k, v in sessions.items() if uid_of(k) == uid)
        for name, field in (("DTSTART", "starts_at"), ("DTEND", "ends_at")):
            line = next(x for x in event_lines(body, uid) if x.startswith(name))
            assert line.startswith(f"{name};TZID={tzid}:"), line
            written = datetime.strptime(line.rsplit(":", 1)[1], "%Y%m%dT%H%M%S")
            instant = datetime.fromisoformat(session[field])
            expected = instant.astimezone(ZoneInfo(tzid))
            assert written == expected.replace(tzinfo=None)
            assert zones[tzid].utcoffset(written) == expected.utcoffset(), (tzid, written)
            assert written.replace(tzinfo=readers[tzid]).utcoffset() == expected.utcoffset()
            checked += 1
    assert checked == 8
    night = vevents(body)[uid_of(across["id"])]
    length = prop(night, "DTEND").astimezone(UTC) - prop(night, "DTSTART").astimezone(UTC)
    assert length == timedelta(hours=3)

    own = (await feed(system, f"/trainings/{tallinn['id']}/calendar.ics")).decode()
    assert "X-WR-TIMEZONE:Europe/Tallinn" in own and own.count("BEGIN:VTIMEZONE") == 1


# --- caching -----------------------------------------------------------------------------


async def test_a_repeat_request_gets_304_or_the_cached_body_until_the_data_changes(
    system: System,
) -> None:
    ee = system.token("organiser", ["EE"])
    slug = series_slug()
    training, (session,) = await published_training(system, ee, series=slug)
    path = f"/series/{slug}/calendar.ics"
    cache = feed_cache(system.apps["scheduling"].state)

    first = await system.scheduling.get(path)
    etag = first.headers["etag"]
    assert etag.startswith('"') and first.headers["cache-control"].startswith("public")
    builds = cache.builds
    again = await system.scheduling.get(path)
    assert again.content == first.content and again.headers["etag"] == etag
    for given in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        unchanged = await system.scheduling.get(path, headers={"If-None-Match": given})
        assert unchanged.status_code == 304 and unchanged.content == b""
        assert unchanged.headers["etag"] == etag
    assert cache.builds == builds

    stale = await system.scheduling.get(path, headers={"If-None-Match": '"other"'})
    assert stale.status_code == 200

    # Gzip is another representation of the same feed, with a validator of its own.
    assert first.headers["content-encoding"] == "gzip" and etag.endswith('-gzip"')
    plain = await system.scheduling.get(path, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == first.content
    assert plain.headers["etag"] != etag and "Accept-Encoding" in plain.headers["vary"]
    for validator in (plain.headers["etag"], etag):
        crossed = await system.scheduling.get(path, headers={"If-None-Match": validator})
        assert crossed.status_code == 304

    await system.scheduling.patch(
        f"/trainings/{training['id']}/sessions/{session['id']}",
        json={"room": "Hall Z"},
        headers=ee,
    )
    changed = await system.scheduling.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert "Hall Z" in changed.text
    assert cache.builds == builds + 1

    await system.scheduling.put(f"/series/{slug}", json={"title": "Renamed series"}, headers=ee)
    renamed = await system.scheduling.get(path)
    assert "X-WR-CALNAME:Renamed series" in renamed.text


async def test_unknown_feeds_are_404(system: System) -> None:
    for path in (
        f"/trainings/{uuid.uuid4()}/calendar.ics",
        "/series/no-such-series/calendar.ics",
        f"/calendars/{secrets.token_urlsafe(24)}.ics",
        "/calendars/no-extension",
    ):
        response = await system.scheduling.get(path)
        assert response.status_code == 404, path


# --- the personal feed ---------------------------------------------------------------


async def set_feed_token(system: System, participant: str, token: str, revision: int) -> None:
    """Announce the participant's feed token as registration would: by its SHA-256 alone."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    await publish(
        system.nats.url,
        ev.ParticipantFeedTokenSet(id=participant, revision=revision, feed_token_sha256=digest),
    )


async def subscribed_participant(system: System) -> tuple[str, str]:
    """A participant id and their feed token, announced as registration would."""
    token = secrets.token_urlsafe(24)
    participant = str(uuid.uuid4())
    await set_feed_token(system, participant, token, revision=1)
    return token, participant


async def confirm(
    system: System,
    participant: str,
    training_id: str,
    status: str = "confirmed",
    registration: str | None = None,
    revision: int = 1,
) -> str:
    registration = registration or str(uuid.uuid4())
    await publish(
        system.nats.url,
        ev.REGISTRATION_STATUS_EVENTS[status](
            id=registration,
            revision=revision,
            training_id=training_id,
            participant_id=participant,
            status=status,
        ),
    )
    return registration


async def personal(system: System, token: str) -> dict[str, icalendar.Event]:
    return vevents(await feed(system, f"/calendars/{token}.ics"))


async def test_the_personal_feed_lists_exactly_the_trainings_the_participant_is_confirmed_for(
    system: System,
) -> None:
    ee = system.token("organiser", ["EE"])
    confirmed, confirmed_sessions = await published_training(system, ee, sessions=2)
    waitlisted, _ = await published_training(system, ee)
    pending, _ = await published_training(system, ee)
    token, participant = await subscribed_participant(system)
    await confirm(system, participant, waitlisted["id"], "waitlisted")
    await confirm(system, participant, pending["id"], "pending")
    await confirm(system, participant, confirmed["id"])
    someone_else = str(uuid.uuid4())
    await confirm(system, someone_else, waitlisted["id"])

    expected = {uid_of(s["id"]) for s in confirmed_sessions}

    async def listed() -> bool:
        assert set(await personal(system, token)) == expected
        return True

    await eventually(listed)
    body = await feed(system, f"/calendars/{token}.ics")
    assert participant.encode() not in body and token.encode() not in body
    response = await system.scheduling.get(f"/calendars/{token}.ics")
    assert response.headers["cache-control"].startswith("private")


async def test_a_cancelled_registration_cancels_its_sessions_with_a_higher_sequence(
    system: System,
) -> None:
    ee = system.token("organiser", ["EE"])
    training, (session,) = await published_training(system, ee)
    uid = uid_of(session["id"])
    token, participant = await subscribed_participant(system)
    registration = await confirm(system, participant, training["id"])

    async def status_is(status: str, sequence: int) -> bool:
        events = await personal(system, token)
        assert uid in events, "not listed yet"
        event = events[uid]
        assert (str(event["STATUS"]), prop(event, "SEQUENCE")) == (status, sequence)
        return True

    await eventually(lambda: status_is("CONFIRMED", 0))
    await confirm(system, participant, training["id"], "cancelled", registration, revision=2)
    await eventually(lambda: status_is("CANCELLED", 1))
    # The public feed is untouched: the session itself goes ahead.
    public = vevents(await feed(system, f"/trainings/{training['id']}/calendar.ics"))[uid]
    assert str(public["STATUS"]) == "CONFIRMED" and prop(public, "SEQUENCE") == 0

    # Registering again (a new registration) brings the sessions back, SEQUENCE rising still.
    await confirm(system, participant, training["id"])
    await eventually(lambda: status_is("CONFIRMED", 2))
    # A late copy of the first confirmation changes nothing.
    await confirm(system, participant, training["id"], "confirmed", registration, revision=1)
    await system.scheduling.patch(
        f"/trainings/{training['id']}/sessions/{session['id']}",
        json={"ends_at": f"{training['starts_on']}T09:50:00"},
        headers=ee,
    )
    await eventually(lambda: status_is("CONFIRMED", 3))


async def test_a_rotated_token_makes_the_old_one_404(system: System) -> None:
    ee = system.token("organiser", ["EE"])
    training, (session,) = await published_training(system, ee)
    old, participant = await subscribed_participant(system)
    await confirm(system, participant, training["id"])

    async def served(token: str) -> bool:
        assert uid_of(session["id"]) in await personal(system, token)
        return True

    await eventually(lambda: served(old))
    new = secrets.token_urlsafe(24)
    await set_feed_token(system, participant, new, revision=2)
    await eventually(lambda: served(new))
    assert (await system.scheduling.get(f"/calendars/{old}.ics")).status_code == 404


async def test_an_erased_participants_feed_is_gone_and_stays_gone(system: System) -> None:
    ee = system.token("organiser", ["EE"])
    training, _ = await published_training(system, ee)
    token, participant = await subscribed_participant(system)
    registration = await confirm(system, participant, training["id"])

    async def status(expected: int) -> bool:
        response = await system.scheduling.get(f"/calendars/{token}.ics")
        assert response.status_code == expected
        return True

    await eventually(lambda: status(200))
    await publish(system.nats.url, ev.ParticipantErased(id=participant, revision=9))
    await eventually(lambda: status(404))
    # A redelivered older event about the person must not bring anything back.
    await set_feed_token(system, participant, token, revision=3)
    await confirm(system, participant, training["id"], "confirmed", registration, revision=5)
    marker = await subscribed_participant(system)

    async def marker_handled() -> bool:
        # Events are handled in order: once a later one is served, the earlier ones were seen.
        response = await system.scheduling.get(f"/calendars/{marker[0]}.ics")
        assert response.status_code == 200
        return True

    await eventually(marker_handled)
    await status(404)
