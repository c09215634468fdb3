"""The scheduling service's calendar feed builder: RFC 5545 output, property by property."""

from __future__ import annotations

import bisect
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import icalendar
import pytest
from dateutil.rrule import rrulestr
from ical.calendar_stream import IcsCalendarStream
from ical.timezone import IcsTimezoneInfo

from shared.calendar import (
    Feed,
    FeedSession,
    FeedSpeaker,
    build_feed,
    calendar_name,
    feed_etag,
    session_uid,
)

ROOT = Path(__file__).resolve().parents[1]
REVISED = datetime(2009, 4, 20, 8, 15, 30, tzinfo=UTC)
URL = "https://capitals.example/trainings/0b6f3c52/page"


def local(
    tzid: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, fold: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(tzid), fold=fold)


def session(**changes: object) -> FeedSession:
    start = changes.pop("starts_at", local("Europe/Tallinn", 2009, 4, 28, 9, 30))
    assert isinstance(start, datetime)
    fields: dict[str, object] = {
        "id": "6a1d2c7e-0d4b-4c2e-9a4f-3b8e5f1c2d90",
        "training_id": "0b6f3c52-7c55-4f0e-a7a4-1f3d9e2b6c11",
        "title": "Identifying victims of trafficking",
        "kind": "lecture",
        "starts_at": start,
        "ends_at": start + timedelta(hours=1, minutes=30),
        "timezone": "Europe/Tallinn",
        "status": "scheduled",
        "sequence": 0,
        "revised_at": REVISED,
        "room": "Hall A",
        "speakers": (FeedSpeaker("Kristiina Kangaspunta", "UNODC"), FeedSpeaker("Jüri Tamm")),
        "description": "How consular staff recognise a victim at the counter.",
        "training_title": "Training on trafficking in human beings, Tallinn",
        "venue": "Islandi väljak 1, 15049 Tallinn",
        "city": "Tallinn",
        "training_description": "One-day training for diplomatic and consular personnel.",
        "training_url": URL,
    }
    fields.update(changes)
    return FeedSession(**fields)  # type: ignore[arg-type]


def zoned(n: int, tzid: str, *start: int, hours: float = 1.5) -> FeedSession:
    begins = local(tzid, *start)
    return session(
        id=f"s{n:03d}",
        starts_at=begins,
        ends_at=begins + timedelta(hours=hours),
        timezone=tzid,
    )


def feed(
    *sessions: FeedSession, name: str = "Trafficking in human beings: CBSS trainings"
) -> bytes:
    return build_feed(Feed(name=name, sessions=sessions))


def lines(body: bytes) -> list[str]:
    """Unfolded content lines."""
    text = body.decode("utf-8")
    assert text.endswith("\r\n")
    return text[:-2].replace("\r\n ", "").split("\r\n")


def name_of(line: str) -> str:
    return re.split("[;:]", line, maxsplit=1)[0]


def values(block: list[str], name: str) -> list[str]:
    return [line.split(":", 1)[1] for line in block if name_of(line) == name]


def value(block: list[str], name: str) -> str:
    found = values(block, name)
    assert len(found) == 1, (name, found)
    return found[0]


def components(block: list[str], kind: str) -> list[list[str]]:
    found: list[list[str]] = []
    current: list[str] | None = None
    for line in block:
        if line == f"BEGIN:{kind}":
            current = []
        elif line == f"END:{kind}":
            assert current is not None
            found.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return found


def calendar_properties(body: bytes) -> list[str]:
    """The VCALENDAR's own lines, without its components."""
    own, depth = [], 0
    for line in lines(body)[1:-1]:
        if line.startswith("BEGIN:"):
            depth += 1
        elif line.startswith("END:"):
            depth -= 1
        elif depth == 0:
            own.append(line)
    return own


def events(body: bytes) -> list[list[str]]:
    return components(lines(body), "VEVENT")


def stamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


# --- an evaluator of our own for VTIMEZONE, so offsets are not taken on trust ---

Onsets = list[tuple[datetime, timedelta]]


def vtimezone_onsets(body: bytes, horizon: int = 2040) -> dict[str, Onsets]:
    """Every onset (UTC instant, offset after it) of every VTIMEZONE, per RFC 5545 3.6.5."""
    result: dict[str, Onsets] = {}
    zone: Any
    for zone in icalendar.Calendar.from_ical(body).walk("VTIMEZONE"):
        onsets: Onsets = []
        for observance in zone.subcomponents:
            assert "RDATE" not in observance
            start = observance.decoded("DTSTART")
            assert start.tzinfo is None
            before = observance["TZOFFSETFROM"].td
            after = observance["TZOFFSETTO"].td
            if "RRULE" not in observance:
                onsets.append(((start - before).replace(tzinfo=UTC), after))
                continue
            parts = dict(p.split("=") for p in observance["RRULE"].to_ical().decode().split(";"))
            until = (
                stamp(parts.pop("UNTIL"))
                if "UNTIL" in parts
                else datetime(horizon, 1, 1, tzinfo=UTC)
            )
            rule = rrulestr(";".join(f"{k}={v}" for k, v in parts.items()), dtstart=start)
            occurrences = iter(rule)
            assert next(iter(rule)) == start, "DTSTART must be the rule's first onset"
            for onset in occurrences:
                instant = (onset - before).replace(tzinfo=UTC)
                if instant > until or onset.year >= horizon:
                    break
                onsets.append((instant, after))
        result[str(zone["TZID"])] = sorted(onsets)
    return result


def offset_at(onsets: Onsets, instant: datetime) -> timedelta:
    index = bisect.bisect_right(onsets, (instant, timedelta.max)) - 1
    assert index >= 0, f"{instant} is before the first onset"
    return onsets[index][1]


def assert_offsets_match_zoneinfo(body: bytes, sessions: list[FeedSession]) -> int:
    """At each session's start and end: our VTIMEZONE gives zoneinfo's offset for the
    instant, and the wall clock written is that instant in that offset."""
    onsets = vtimezone_onsets(body)
    readers = {str(z["TZID"]): z.to_tz(lookup_tzid=False) for z in _walk(body, "VTIMEZONE")}
    by_uid = {value(e, "UID"): e for e in events(body)}
    checked = 0
    for s in sessions:
        event = by_uid[session_uid(s.id)]
        for prop, at in (("DTSTART", s.starts_at), ("DTEND", s.ends_at)):
            instant = at.astimezone(UTC)
            expected = instant.astimezone(ZoneInfo(s.timezone)).utcoffset()
            assert expected is not None
            assert offset_at(onsets[s.timezone], instant) == expected, (s.timezone, instant)
            line = next(x for x in event if name_of(x) == prop)
            assert line.startswith(f"{prop};TZID={s.timezone}:"), line
            wall = datetime.strptime(line.rsplit(":", 1)[1], "%Y%m%dT%H%M%S")
            assert wall == (instant + expected).replace(tzinfo=None), line
            # icalendar's own reading of our VTIMEZONE, as a second opinion
            assert wall.replace(tzinfo=readers[s.timezone]).utcoffset() == expected, line
            checked += 1
    return checked


def _walk(body: bytes, kind: str) -> list[Any]:
    return list(icalendar.Calendar.from_ical(body).walk(kind))


# --- the calendar ---


def test_feed_declares_version_prodid_and_gregorian_scale() -> None:
    own = calendar_properties(feed(session()))
    assert value(own, "VERSION") == "2.0"
    assert value(own, "PRODID") == "-//Capitals//Training calendar//EN"
    assert value(own, "CALSCALE") == "GREGORIAN"


def test_feed_is_named_by_name_and_x_wr_calname() -> None:
    own = calendar_properties(feed(session(), name="CBSS series; 2009, 2010"))
    assert value(own, "NAME") == "CBSS series\\; 2009\\, 2010"
    assert value(own, "X-WR-CALNAME") == "CBSS series\\; 2009\\, 2010"


def test_refresh_interval_is_a_duration_with_its_value_parameter() -> None:
    own = calendar_properties(feed(session()))
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT6H" in own
    assert "X-PUBLISHED-TTL:PT6H" in own


def test_refresh_interval_follows_the_feed() -> None:
    body = build_feed(Feed("x", [session()], refresh=timedelta(hours=1, minutes=30)))
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H30M" in calendar_properties(body)
    assert "X-PUBLISHED-TTL:PT1H30M" in calendar_properties(body)


def test_feed_has_no_method_because_it_is_a_snapshot() -> None:
    assert not [line for line in lines(feed(session())) if name_of(line) == "METHOD"]


def test_x_wr_timezone_is_given_only_for_a_single_zone() -> None:
    single = feed(
        zoned(1, "Europe/Tallinn", 2009, 4, 28, 9), zoned(2, "Europe/Tallinn", 2009, 4, 28, 11)
    )
    assert value(calendar_properties(single), "X-WR-TIMEZONE") == "Europe/Tallinn"
    several = feed(
        zoned(1, "Europe/Tallinn", 2009, 4, 28, 9), zoned(2, "Europe/Vilnius", 2009, 9, 2, 9)
    )
    assert not values(calendar_properties(several), "X-WR-TIMEZONE")


def test_empty_feed_is_still_a_valid_calendar() -> None:
    body = feed()
    assert lines(body)[0] == "BEGIN:VCALENDAR" and lines(body)[-1] == "END:VCALENDAR"
    IcsCalendarStream.calendar_from_ics(body.decode())


# --- the events ---


def test_one_event_per_session_with_uid_from_the_session_id() -> None:
    sessions = [zoned(n, "Europe/Tallinn", 2009, 4, 28, 9 + n) for n in range(3)]
    found = events(feed(*sessions))
    assert [value(e, "UID") for e in found] == [session_uid(s.id) for s in sessions]


def test_session_uid_is_derived_from_the_id_alone() -> None:
    assert session_uid("6a1d2c7e") == "session-6a1d2c7e@capitals"
    one = events(feed(session(title="A", room="B", revised_at=REVISED)))[0]
    other = events(feed(session(title="C", room=None, revised_at=REVISED + timedelta(days=9))))[0]
    assert value(one, "UID") == value(other, "UID")


def test_dtstamp_and_last_modified_are_the_revision_time_in_utc() -> None:
    revised = datetime(2009, 4, 20, 11, 15, 30, 123456, tzinfo=ZoneInfo("Europe/Tallinn"))
    first = events(feed(session(revised_at=revised)))[0]
    assert value(first, "DTSTAMP") == "20090420T081530Z"
    assert value(first, "LAST-MODIFIED") == "20090420T081530Z"


def test_sequence_is_the_stored_sequence() -> None:
    assert value(events(feed(session(sequence=7)))[0], "SEQUENCE") == "7"


def test_scheduled_sessions_are_confirmed() -> None:
    assert value(events(feed(session()))[0], "STATUS") == "CONFIRMED"


def test_cancelled_sessions_stay_in_the_feed_as_cancelled() -> None:
    cancelled = session(id="gone", status="cancelled", sequence=3)
    found = events(feed(session(), cancelled))
    assert len(found) == 2
    event = next(e for e in found if value(e, "UID") == session_uid("gone"))
    assert value(event, "STATUS") == "CANCELLED"
    assert value(event, "SEQUENCE") == "3"


def test_summary_is_the_title_without_prefix() -> None:
    event = events(feed(session(title="Panel: origin, transit; destination")))[0]
    assert value(event, "SUMMARY") == "Panel: origin\\, transit\\; destination"


def test_location_joins_room_venue_and_city_without_repeating_the_city() -> None:
    event = events(feed(session()))[0]
    assert value(event, "LOCATION") == "Hall A\\, Islandi väljak 1\\, 15049 Tallinn"
    event = events(feed(session(venue="Ministry for Foreign Affairs", room=None)))[0]
    assert value(event, "LOCATION") == "Ministry for Foreign Affairs\\, Tallinn"
    event = events(feed(session(room=" ", venue="", city="")))[0]
    assert not values(event, "LOCATION")


def test_description_carries_session_speakers_training_and_link() -> None:
    raw = value(events(feed(session()))[0], "DESCRIPTION")
    text = str(_walk(feed(session()), "VEVENT")[0]["DESCRIPTION"])
    assert "\\n" in raw and "\n" not in raw
    assert text == (
        "How consular staff recognise a victim at the counter.\n\n"
        "Speakers:\nKristiina Kangaspunta (UNODC)\nJüri Tamm\n\n"
        "Training: Training on trafficking in human beings, Tallinn\n"
        "One-day training for diplomatic and consular personnel.\n" + URL
    )


def test_description_is_left_out_when_there_is_nothing_to_say() -> None:
    bare = session(
        speakers=(),
        description=None,
        training_title="",
        training_description=None,
        training_url=None,
    )
    assert not values(events(feed(bare))[0], "DESCRIPTION")


def test_url_is_the_public_training_page() -> None:
    assert value(events(feed(session()))[0], "URL") == URL
    assert not values(events(feed(session(training_url=None)))[0], "URL")
    hostile = session(training_url="javascript:alert(1)")
    assert not values(events(feed(hostile))[0], "URL")
    assert "javascript" not in feed(hostile).decode()


def test_categories_carry_the_kind_as_people_read_it() -> None:
    assert value(events(feed(session(kind="case_study")))[0], "CATEGORIES") == "Case study"
    assert value(events(feed(session(kind="lecture")))[0], "CATEGORIES") == "Lecture"


def test_breaks_stay_out_of_calendars() -> None:
    lunch = session(id="lunch", kind="break", title="Lunch")
    body = feed(session(), lunch)
    assert [value(e, "SUMMARY") for e in events(body)] == ["Identifying victims of trafficking"]
    assert "Lunch" not in body.decode()
    only_breaks = calendar_properties(feed(lunch))
    assert not components(lines(feed(lunch)), "VEVENT") and value(only_breaks, "VERSION")


def test_a_feed_has_no_method_and_a_calendar_to_import_is_published() -> None:
    assert not values(calendar_properties(feed(session())), "METHOD")
    sent = build_feed(Feed(name="Tallinn", sessions=[session()], method="PUBLISH"))
    assert value(calendar_properties(sent), "METHOD") == "PUBLISH"
    assert [value(e, "UID") for e in events(sent)] == [session_uid(session().id)]


def test_a_training_calendar_names_its_capital_once() -> None:
    assert calendar_name("Training for consular staff, Tallinn", "Tallinn") == (
        "Training for consular staff, Tallinn"
    )
    assert calendar_name("Training for consular staff", "Tallinn") == (
        "Training for consular staff (Tallinn)"
    )


def test_times_are_local_wall_clock_with_tzid() -> None:
    start = datetime(2009, 5, 25, 9, 0, tzinfo=UTC)  # given in UTC, written in Reykjavik
    event = events(
        feed(
            session(
                starts_at=start, ends_at=start + timedelta(hours=2), timezone="Atlantic/Reykjavik"
            )
        )
    )[0]
    assert "DTSTART;TZID=Atlantic/Reykjavik:20090525T090000" in event
    assert "DTEND;TZID=Atlantic/Reykjavik:20090525T110000" in event
    brussels = datetime(2009, 11, 25, 8, 30, tzinfo=UTC)
    event = events(
        feed(
            session(
                starts_at=brussels,
                ends_at=brussels + timedelta(hours=1),
                timezone="Europe/Brussels",
            )
        )
    )[0]
    assert "DTSTART;TZID=Europe/Brussels:20091125T093000" in event
    assert "DTEND;TZID=Europe/Brussels:20091125T103000" in event


def test_repeated_wall_clock_hour_is_written_in_utc() -> None:
    # 02:30 happens twice in Stockholm on 2009-10-25; a TZID time means the first.
    second = local("Europe/Stockholm", 2009, 10, 25, 2, 30, fold=1)
    first = local("Europe/Stockholm", 2009, 10, 25, 2, 30, fold=0)
    body = feed(
        session(
            id="a",
            starts_at=first,
            ends_at=first + timedelta(minutes=20),
            timezone="Europe/Stockholm",
        ),
        session(
            id="b",
            starts_at=second,
            ends_at=second + timedelta(hours=1),
            timezone="Europe/Stockholm",
        ),
    )
    a, b = events(body)
    assert "DTSTART;TZID=Europe/Stockholm:20091025T023000" in a
    assert "DTSTART:20091025T013000Z" in b
    assert "DTEND;TZID=Europe/Stockholm:20091025T033000" in b
    parsed = IcsCalendarStream.calendar_from_ics(body.decode()).events[1]
    # PEP 495: a time in the repeated hour never equals one in another zone, so compare in UTC
    assert parsed.dtstart == second.astimezone(UTC)
    assert isinstance(parsed.dtend, datetime)
    assert parsed.dtend.astimezone(UTC) == second.astimezone(UTC) + timedelta(hours=1)


def test_zero_length_session_has_no_dtend() -> None:
    start = local("Europe/Tallinn", 2009, 4, 28, 12)
    (event,) = events(feed(session(starts_at=start, ends_at=start)))
    assert "DTSTART;TZID=Europe/Tallinn:20090428T120000" in event
    assert not values(event, "DTEND")


def test_events_are_ordered_by_utc_start_then_id() -> None:
    sessions = [
        zoned(4, "Atlantic/Reykjavik", 2009, 5, 25, 8),  # 08:00Z
        zoned(3, "Europe/Tallinn", 2009, 5, 25, 10),  # 07:00Z
        zoned(2, "Europe/Brussels", 2009, 5, 25, 9),  # 07:00Z, same instant, lower id
        zoned(1, "Asia/Kolkata", 2009, 5, 25, 9),  # 03:30Z
    ]
    found = [value(e, "UID") for e in events(feed(*sessions))]
    assert found == [session_uid(i) for i in ("s001", "s002", "s003", "s004")]


def test_same_input_gives_identical_bytes_in_other_processes() -> None:
    script = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('t', {str(Path(__file__))!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "sys.stdout.buffer.write(m.series_sample())\n"
    )
    outputs = []
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, check=True
        )
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] == series_sample()


def series_sample() -> bytes:
    return feed(
        zoned(5, "Europe/Warsaw", 2010, 3, 23, 9),
        zoned(1, "Europe/Tallinn", 2009, 4, 28, 9),
        zoned(3, "Europe/Brussels", 2009, 11, 25, 9),
        zoned(2, "Atlantic/Reykjavik", 2009, 5, 25, 9),
        zoned(4, "Europe/Stockholm", 2009, 12, 7, 9),
        zoned(6, "Europe/Moscow", 2010, 6, 8, 9),
    )


# --- text hygiene ---


def test_control_characters_are_stripped_from_all_text() -> None:
    dirty = "Opening\x1b[31m of\x00 the\x7f exhibition\x9b\x07"
    body = feed(
        session(
            title=dirty,
            room=dirty,
            description=f"{dirty}\r\nline two\rline three\twith a tab",
            speakers=(FeedSpeaker(dirty, dirty),),
            training_title=dirty,
            training_description=dirty,
        ),
        name=dirty,
    )
    text = body.decode("utf-8")
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", text)
    event = _walk(body, "VEVENT")[0]
    assert str(event["SUMMARY"]) == "Opening[31m of the exhibition"
    assert str(event["DESCRIPTION"]).startswith(
        "Opening[31m of the exhibition\nline two\nline three\twith a tab\n\n"
    )


def test_text_is_escaped_per_rfc_5545_and_round_trips() -> None:
    title = "Cases; origin, transit \\ destination: C:\\Notes\\New"
    description = "First line\nSecond; line, with \\N in it"
    event = events(feed(session(title=title, description=description)))[0]
    assert value(event, "SUMMARY") == (
        "Cases\\; origin\\, transit \\\\ destination: C:\\\\Notes\\\\New"
    )
    parsed = _walk(feed(session(title=title, description=description)), "VEVENT")[0]
    assert str(parsed["SUMMARY"]) == title
    assert str(parsed["DESCRIPTION"]).startswith(description + "\n\n")


def test_long_lines_fold_at_75_octets_without_splitting_utf8() -> None:
    cyrillic = "Торговля людьми: выявление жертв и помощь консульских служб. " * 12
    emoji = "Exhibition 📷🇮🇸👩🏽‍⚖️ opening, ; \\ " * 30
    body = feed(session(title=cyrillic, description=emoji, room="Зал " * 40))
    physical = body.split(b"\r\n")
    assert physical[-1] == b""
    for line in physical[:-1]:
        assert len(line) <= 75, line
        line.decode("utf-8")  # each physical line is whole UTF-8 on its own
    assert any(line.startswith(b" ") for line in physical)
    parsed = _walk(body, "VEVENT")[0]
    assert str(parsed["SUMMARY"]) == cyrillic.strip()
    assert str(parsed["DESCRIPTION"]).startswith(emoji.strip())


def test_folding_never_splits_a_backslash_escape() -> None:
    body = feed(session(title=",;\\" * 60, description="x" * 3 + ",\\;" * 80))
    for line in body.split(b"\r\n")[:-1]:
        trailing = len(line) - len(line.rstrip(b"\\"))
        assert trailing % 2 == 0, line


# --- no secrets, no personal data beyond the public programme ---

EXPECTED_PROPERTIES = {
    "BEGIN",
    "END",
    "VERSION",
    "PRODID",
    "CALSCALE",
    "NAME",
    "X-WR-CALNAME",
    "X-WR-TIMEZONE",
    "REFRESH-INTERVAL",
    "X-PUBLISHED-TTL",
    "TZID",
    "DTSTART",
    "TZOFFSETFROM",
    "TZOFFSETTO",
    "RRULE",
    "TZNAME",
    "UID",
    "DTSTAMP",
    "LAST-MODIFIED",
    "SEQUENCE",
    "STATUS",
    "DTEND",
    "SUMMARY",
    "LOCATION",
    "DESCRIPTION",
    "CATEGORIES",
    "URL",
}


def test_feed_carries_no_secret_or_attendee_data() -> None:
    body = series_sample()
    assert {name_of(line) for line in lines(body)} <= EXPECTED_PROPERTIES
    for uid in values(lines(body), "UID"):
        assert re.fullmatch(r"session-s\d{3}@capitals", uid)
    # nothing token-like (long random strings) and no mail addresses
    text = "\n".join(lines(body))
    without_urls = re.sub(r"https://\S+", "", text)
    assert not re.search(r"[A-Za-z0-9_\-]{24,}", without_urls)
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", text)


# --- time zones ---


def test_one_vtimezone_per_zone_sorted_and_before_the_events() -> None:
    body = series_sample()
    all_lines = lines(body)
    zones = components(all_lines, "VTIMEZONE")
    tzids = [value(z, "TZID") for z in zones]
    assert tzids == sorted(tzids)
    used = {
        x.split("TZID=", 1)[1].split(":", 1)[0]
        for e in events(body)
        for x in e
        if x.startswith("DTSTART;TZID=")
    }
    assert set(tzids) == used and len(tzids) == len(used) == 6
    last_zone = max(i for i, x in enumerate(all_lines) if x == "END:VTIMEZONE")
    first_event = all_lines.index("BEGIN:VEVENT")
    assert last_zone < first_event


def test_vtimezone_covers_only_the_years_of_the_events() -> None:
    body = feed(
        zoned(1, "Europe/Tallinn", 2009, 4, 28, 9), zoned(2, "Europe/Tallinn", 2010, 6, 1, 9)
    )
    zone = components(lines(body), "VTIMEZONE")[0]
    starts = sorted(datetime.strptime(v, "%Y%m%dT%H%M%S") for v in values(zone, "DTSTART"))
    # the change before 1 January 2009 sets the first offset; nothing starts after 2010
    assert starts[0] == datetime(2008, 10, 26, 4, 0)
    assert starts[-1].year <= 2010
    assert not [v for v in values(zone, "RRULE") if "UNTIL" in v]


def test_daylight_saving_is_written_as_yearly_rrules() -> None:
    # zone, observance, offset from, offset to, rule
    expected = [
        ("Europe/Tallinn", "STANDARD", "+0300", "+0200", "FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU"),
        ("Europe/Tallinn", "DAYLIGHT", "+0200", "+0300", "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU"),
        ("Europe/Brussels", "STANDARD", "+0200", "+0100", "FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU"),
        ("Europe/Brussels", "DAYLIGHT", "+0100", "+0200", "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU"),
        ("America/New_York", "STANDARD", "-0400", "-0500", "FREQ=YEARLY;BYMONTH=11;BYDAY=1SU"),
        ("America/New_York", "DAYLIGHT", "-0500", "-0400", "FREQ=YEARLY;BYMONTH=3;BYDAY=2SU"),
        ("Australia/Sydney", "STANDARD", "+1100", "+1000", "FREQ=YEARLY;BYMONTH=4;BYDAY=1SU"),
        ("Australia/Sydney", "DAYLIGHT", "+1000", "+1100", "FREQ=YEARLY;BYMONTH=10;BYDAY=1SU"),
    ]
    tzids = dict.fromkeys(tzid for tzid, *_ in expected)
    body = feed(*(zoned(n, tzid, 2009, 6, 1, 9) for n, tzid in enumerate(tzids)))
    assert "RDATE" not in body.decode()
    zones = {value(zone, "TZID"): zone for zone in components(lines(body), "VTIMEZONE")}
    for tzid, kind, before, after, rrule in expected:
        (observance,) = components(zones[tzid], kind)
        assert value(observance, "TZOFFSETFROM") == before
        assert value(observance, "TZOFFSETTO") == after
        assert value(observance, "RRULE") == rrule


@pytest.mark.parametrize("tzid", ["Atlantic/Reykjavik", "Asia/Kolkata"])
def test_zone_without_daylight_saving_has_one_standard_without_rrule(tzid: str) -> None:
    (zone,) = components(lines(feed(zoned(1, tzid, 2009, 5, 25, 9))), "VTIMEZONE")
    assert not components(zone, "DAYLIGHT")
    (standard,) = components(zone, "STANDARD")
    assert not values(standard, "RRULE")
    offset = ZoneInfo(tzid).utcoffset(datetime(2009, 5, 25))
    assert offset is not None
    hours, minutes = divmod(int(offset.total_seconds()) // 60, 60)
    assert (
        value(standard, "TZOFFSETTO")
        == value(standard, "TZOFFSETFROM")
        == f"+{hours:02d}{minutes:02d}"
    )


NAMED_ZONE_SESSIONS = [
    ("Europe/Tallinn", (2009, 4, 28, 9)),
    ("Europe/Tallinn", (2009, 3, 29, 4)),  # an hour after the spring change
    ("Atlantic/Reykjavik", (2009, 5, 25, 9)),
    ("Europe/Brussels", (2009, 11, 25, 9)),
    ("Europe/Brussels", (2009, 1, 1, 0)),
    ("America/New_York", (2009, 3, 8, 9)),
    ("America/New_York", (2009, 11, 1, 1)),
    ("America/New_York", (2009, 12, 31, 22)),
    ("Australia/Sydney", (2009, 4, 5, 9)),
    ("Australia/Sydney", (2009, 10, 4, 9)),
    ("Australia/Sydney", (2009, 1, 15, 9)),
    ("Asia/Kolkata", (2009, 9, 2, 9)),
]


def test_vtimezone_offsets_equal_zoneinfo_at_every_event_start_and_end() -> None:
    sessions = [zoned(n, tzid, *start) for n, (tzid, start) in enumerate(NAMED_ZONE_SESSIONS)]
    assert assert_offsets_match_zoneinfo(feed(*sessions), sessions) == 2 * len(sessions)


def test_strict_ical_parser_reads_the_same_offsets_from_our_vtimezones() -> None:
    # ical 14 gives a sub-component with neither RRULE nor RDATE no onset at all
    # (its DTSTART alone is ignored), so it reads fixed-offset zones as UTC; those
    # are covered by our own evaluator and icalendar's above.
    sessions = [
        zoned(n, tzid, *start)
        for n, (tzid, start) in enumerate(NAMED_ZONE_SESSIONS)
        if tzid not in ("Atlantic/Reykjavik", "Asia/Kolkata")
    ]
    calendar = IcsCalendarStream.calendar_from_ics(feed(*sessions).decode())
    zones = {tz.tz_id: IcsTimezoneInfo.from_timezone(tz) for tz in calendar.timezones}
    for s in sessions:
        for instant in (s.starts_at, s.ends_at):
            wall = instant.astimezone(ZoneInfo(s.timezone))
            assert zones[s.timezone].utcoffset(wall.replace(tzinfo=None)) == wall.utcoffset(), wall


def test_session_across_a_daylight_saving_change_keeps_both_offsets() -> None:
    tzid = "Europe/Stockholm"
    start, end = local(tzid, 2009, 10, 25, 1, 30), local(tzid, 2009, 10, 25, 3, 30)
    across = session(starts_at=start, ends_at=end, timezone=tzid)
    body = feed(across)
    (event,) = events(body)
    assert "DTSTART;TZID=Europe/Stockholm:20091025T013000" in event
    assert "DTEND;TZID=Europe/Stockholm:20091025T033000" in event
    onsets = vtimezone_onsets(body)[tzid]
    assert offset_at(onsets, start.astimezone(UTC)) == timedelta(hours=2)
    assert offset_at(onsets, end.astimezone(UTC)) == timedelta(hours=1)
    assert assert_offsets_match_zoneinfo(body, [across]) == 2
    parsed = _walk(body, "VEVENT")[0]
    duration = parsed.decoded("DTEND").astimezone(UTC) - parsed.decoded("DTSTART").astimezone(UTC)
    assert duration == timedelta(hours=3)


@pytest.mark.parametrize(
    ("tzid", "years"),
    [
        ("America/New_York", (2006, 2008)),  # US rules changed in 2007
        ("Europe/Moscow", (2010, 2012)),  # DST dropped in 2011 for a permanent +04
        ("Asia/Tehran", (2021, 2023)),  # fixed dates, so one-offs; DST abolished in 2022
        ("America/Sao_Paulo", (2017, 2019)),  # dates moved, then DST abolished
        ("Africa/Casablanca", (2017, 2019)),  # Ramadan breaks, then permanent +01
    ],
)
def test_rule_changes_between_years_end_their_rrule(tzid: str, years: tuple[int, int]) -> None:
    first, last = years
    body = feed(zoned(1, tzid, first, 2, 1, 12), zoned(2, tzid, last, 12, 30, 12))
    (zone,) = components(lines(body), "VTIMEZONE")
    rrules = values(zone, "RRULE")
    assert "RDATE" not in body.decode()
    for rrule in rrules:
        assert re.fullmatch(
            r"FREQ=YEARLY;BYMONTH=\d+;BYDAY=-?\d[A-Z]{2}(;UNTIL=\d{8}T\d{6}Z)?", rrule
        )
    # Iran changes on fixed dates, which no nth-weekday rule repeats
    assert tzid == "Asia/Tehran" or any("UNTIL" in rrule for rrule in rrules), rrules
    onsets = vtimezone_onsets(body)[tzid]
    zone_info = ZoneInfo(tzid)
    instant = datetime(first, 1, 1, tzinfo=zone_info).astimezone(UTC)
    end = datetime(last + 1, 1, 1, tzinfo=zone_info).astimezone(UTC)
    while instant < end:
        assert offset_at(onsets, instant) == instant.astimezone(zone_info).utcoffset(), instant
        instant += timedelta(hours=6)


@pytest.mark.parametrize("years", [(2009, 2009), (2021, 2024)])
def test_every_iana_zone_gets_a_vtimezone_that_agrees_with_zoneinfo(years: tuple[int, int]) -> None:
    first, last = years
    for tzid in sorted(available_timezones()):
        zone_info = ZoneInfo(tzid)
        body = feed(zoned(1, tzid, first, 1, 1, 12), zoned(2, tzid, last, 12, 31, 10))
        onsets = vtimezone_onsets(body, horizon=last + 2)[tzid]
        start = datetime(first, 1, 1, tzinfo=zone_info).astimezone(UTC)
        end = datetime(last + 1, 1, 1, tzinfo=zone_info).astimezone(UTC)
        probes = [start + timedelta(days=n) for n in range((end - start).days)]
        probes += [
            at + delta
            for at, _ in onsets
            if start < at < end
            for delta in (-timedelta(seconds=1), timedelta(0))
        ]
        for instant in probes:
            expected = instant.astimezone(zone_info).utcoffset()
            assert offset_at(onsets, instant) == expected, (tzid, instant)


# --- independent parsers ---


def test_strict_ical_parser_accepts_the_feed_and_every_event_has_uid_dtstamp_dtstart() -> None:
    body = series_sample()
    calendar = IcsCalendarStream.calendar_from_ics(body.decode())
    assert len(calendar.events) == 6
    for event, raw in zip(calendar.events, events(body), strict=True):
        # ical does not require these, so check them ourselves
        assert value(raw, "UID") and value(raw, "DTSTAMP") and values(raw, "DTSTART")
        assert event.uid == value(raw, "UID")
        assert event.dtstamp == stamp(value(raw, "DTSTAMP"))
        assert event.dtstart is not None


def test_feed_round_trips_through_icalendar() -> None:
    sessions = [zoned(n, tzid, *start) for n, (tzid, start) in enumerate(NAMED_ZONE_SESSIONS)]
    body = feed(*sessions)
    parsed = icalendar.Calendar.from_ical(body)
    by_uid = {str(e["UID"]): e for e in parsed.walk("VEVENT")}
    assert len(by_uid) == len(sessions)
    for s in sessions:
        event = by_uid[session_uid(s.id)]
        assert event.decoded("DTSTART") == s.starts_at
        assert event.decoded("DTEND") == s.ends_at
        assert str(event["SUMMARY"]) == s.title
        assert event["SEQUENCE"] == s.sequence
        assert event.decoded("DTSTAMP") == s.revised_at
    assert icalendar.Calendar.from_ical(parsed.to_ical()).to_ical() == parsed.to_ical()


# --- contract checks ---


def test_naive_session_times_are_refused() -> None:
    with pytest.raises(ValueError, match="starts_at must be offset-aware"):
        feed(session(starts_at=datetime(2009, 4, 28, 9), ends_at=datetime(2009, 4, 28, 10)))


def test_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown status"):
        feed(session(status="draft"))


def test_session_ending_before_it_starts_is_refused() -> None:
    start = local("Europe/Tallinn", 2009, 4, 28, 9)
    with pytest.raises(ValueError, match="ends_at is before starts_at"):
        feed(session(starts_at=start, ends_at=start - timedelta(minutes=1)))


def test_feed_etag_is_strong_and_follows_the_body() -> None:
    body = feed(session())
    tag = feed_etag(body)
    assert re.fullmatch(r'"[0-9a-f]{32}"', tag)
    assert feed_etag(feed(session())) == tag
    assert feed_etag(feed(session(sequence=1))) != tag
