"""Times build_feed against a bare icalendar build of the same series feed.

Run with `.venv/bin/python bench/calendar_feed.py [sessions] [repeats] [--check]`; with
`--check` it exits non-zero when build_feed takes more than 1.5 times the bare build.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from shared.calendar import (
    NOT_IN_CALENDARS,
    Feed,
    FeedSession,
    FeedSpeaker,
    _vtimezone,
    build_feed,
    session_uid,
)
from shared.countries import country
from shared.events.contracts import SESSION_KINDS

# The kinds of session a calendar shows (breaks are left out), so both builds have every one.
KINDS = [kind for kind in SESSION_KINDS if kind not in NOT_IN_CALENDARS]
# The 2009-2010 editions of the series: host country and first day. Each was held in the
# host's capital, in its zone (shared.countries).
EDITIONS = tuple(
    (country(code), date.fromisoformat(first_day))
    for code, first_day in {
        "DK": "2009-02-10",
        "EE": "2009-04-28",
        "IS": "2009-05-25",
        "LT": "2009-09-02",
        "FI": "2009-11-11",
        "BE": "2009-11-25",
        "SE": "2009-12-07",
        "DE": "2010-02-16",
        "PL": "2010-03-23",
        "NO": "2010-04-20",
        "RU": "2010-06-08",
        "LV": "2010-10-05",
    }.items()
)


def series_feed(sessions: int = 2000, trainings: int = 12) -> Feed:
    """A series feed of `sessions` sessions spread over `trainings` trainings."""
    items = []
    for n in range(sessions):
        host, first_day = EDITIONS[n % trainings]
        city, tzid = host.capital, host.timezone
        midnight = datetime.combine(first_day, datetime.min.time(), ZoneInfo(tzid))
        per_training = n // trainings
        day, slot = divmod(per_training, 6)
        start = midnight + timedelta(days=day, hours=9 + slot * 1.5)
        items.append(
            FeedSession(
                id=f"{n:08d}-0000-4000-8000-{n * 7919:012d}",
                training_id=f"training-{n % trainings}",
                title=f"Session {per_training}: identifying victims of trafficking, part {slot}",
                kind=KINDS[n % len(KINDS)],
                starts_at=start,
                ends_at=start + timedelta(hours=1, minutes=15),
                timezone=tzid,
                status="cancelled" if n % 50 == 0 else "scheduled",
                sequence=n % 4,
                revised_at=datetime(2009, 1, 5, 10, 0, tzinfo=UTC) + timedelta(minutes=n),
                room=f"Room {slot + 1}",
                speakers=(
                    FeedSpeaker("Anna Lindqvist", "Ministry for Foreign Affairs, Sweden"),
                    FeedSpeaker("Jüri Tamm", "IOM"),
                ),
                description="Referral mechanisms and consular assistance; case work in groups.",
                training_title=f"Training on trafficking in human beings, {city}",
                venue=f"Ministry for Foreign Affairs, {city}",
                city=city,
                training_description="For diplomatic and consular staff of CBSS states.",
                training_url=f"https://capitals.example/trainings/training-{n % trainings}/page",
            )
        )
    return Feed(name="Trafficking in human beings: CBSS training series", sessions=items)


def _description(s: FeedSession) -> str:
    speakers = "\n".join(f"{p.name} ({p.organisation})" for p in s.speakers)
    return (
        f"{s.description}\n\nSpeakers:\n{speakers}\n\nTraining: {s.training_title}\n"
        f"{s.training_description}\n{s.training_url}"
    )


def bare_icalendar_build(feed: Feed) -> bytes:
    """The same events with plain icalendar: no VTIMEZONE, no sanitising, no folding care."""
    calendar = Calendar()
    calendar.add("version", "2.0")
    calendar.add("prodid", "-//Capitals//Training calendar//EN")
    for s in sorted(feed.sessions, key=lambda s: (s.starts_at.astimezone(UTC), s.id)):
        zone = ZoneInfo(s.timezone)
        event = Event()
        event.add("uid", session_uid(s.id))
        event.add("dtstamp", s.revised_at)
        event.add("last-modified", s.revised_at)
        event.add("sequence", s.sequence)
        event.add("status", "CANCELLED" if s.status == "cancelled" else "CONFIRMED")
        event.add("dtstart", s.starts_at.astimezone(zone))
        event.add("dtend", s.ends_at.astimezone(zone))
        event.add("summary", s.title)
        event.add("location", f"{s.room}, {s.venue}")
        event.add("description", _description(s))
        event.add("categories", [s.kind])
        event.add("url", s.training_url)
        calendar.add_component(event)
    return calendar.to_ical()


def median_seconds(build: Callable[[], bytes], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        build()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


# The budget the README states: our feed, with its VTIMEZONEs, within 1.5 bare builds.
BUDGET = 1.5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sessions", nargs="?", type=int, default=2000)
    parser.add_argument("repeats", nargs="?", type=int, default=7)
    parser.add_argument(
        "--check", action="store_true", help=f"exit 1 above {BUDGET} times the bare build"
    )
    arguments = parser.parse_args()
    sessions, repeats = arguments.sessions, arguments.repeats
    feed = series_feed(sessions)
    assert bare_icalendar_build(feed).count(b"BEGIN:VEVENT") == sessions
    assert build_feed(feed).count(b"BEGIN:VEVENT") == sessions

    _vtimezone.cache_clear()
    began = time.perf_counter()
    build_feed(feed)
    cold = time.perf_counter() - began

    bare = median_seconds(lambda: bare_icalendar_build(feed), repeats)
    ours = median_seconds(lambda: build_feed(feed), repeats)
    print(f"{sessions} sessions, 12 trainings in 12 zones, median of {repeats} runs")
    print(f"{'build':<40} {'seconds':>10}")
    print(f"{'bare icalendar (no VTIMEZONE)':<40} {bare:>10.4f}")
    print(f"{'capitals build_feed':<40} {ours:>10.4f}")
    print(f"{'capitals build_feed, cold zone cache':<40} {cold:>10.4f}")
    print(f"{'ratio build_feed / bare':<40} {ours / bare:>10.3f}")
    if arguments.check and ours > BUDGET * bare:
        print(f"build_feed is over its budget of {BUDGET} bare builds")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
