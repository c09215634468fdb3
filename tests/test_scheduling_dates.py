"""Issue 10's date rules, pure: sessions stay within a training's days; new dates move or refuse."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from services.scheduling import domain
from shared.errors import Conflict, Invalid

ZONE = "Europe/Tallinn"
TALLINN = ZoneInfo(ZONE)
FIRST, LAST = date(2031, 4, 28), date(2031, 4, 29)


def at(day: int, hour: int) -> datetime:
    return datetime(2031, 4, day, hour, tzinfo=TALLINN)


def test_a_session_within_the_days_or_until_the_last_midnight_is_accepted() -> None:
    domain.check_session_within(FIRST, LAST, ZONE, at(28, 9), at(28, 10))
    domain.check_session_within(FIRST, LAST, ZONE, at(29, 22), at(30, 0))


@pytest.mark.parametrize(
    ("starts", "ends", "field"),
    [
        (at(27, 19), at(27, 21), "starts_at"),
        (at(30, 9), at(30, 10), "starts_at"),
        (at(29, 23), at(30, 1), "ends_at"),
    ],
)
def test_a_session_outside_the_days_is_refused_naming_the_field(
    starts: datetime, ends: datetime, field: str
) -> None:
    with pytest.raises(Invalid) as refused:
        domain.check_session_within(FIRST, LAST, ZONE, starts, ends)
    assert refused.value.field == field


def test_new_dates_that_leave_a_session_outside_are_refused_listing_it() -> None:
    timings = [
        domain.Timing("a", "Opening", at(28, 9), at(28, 10)),
        domain.Timing("b", "Closing", at(29, 15), at(29, 16)),
    ]
    domain.check_timetable_fits(FIRST, LAST, ZONE, timings)
    with pytest.raises(Conflict) as refused:
        domain.check_timetable_fits(FIRST, FIRST, ZONE, timings)
    assert [s["id"] for s in refused.value.extra["sessions"]] == ["b"]  # type: ignore[attr-defined]


def test_retimed_keeps_the_wall_clock_across_days_zones_and_daylight_saving() -> None:
    # 28 March 2031 is before, 4 April after the change to summer time in Tallinn.
    before = datetime(2031, 3, 28, 9, tzinfo=TALLINN)
    moved = domain.retimed(before, ZONE, ZONE, 7).astimezone(TALLINN)
    assert (moved.day, moved.hour) == (4, 9)
    berlin = domain.retimed(before, ZONE, "Europe/Berlin", 0).astimezone(ZoneInfo("Europe/Berlin"))
    assert (berlin.day, berlin.hour) == (28, 9)
