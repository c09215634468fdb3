"""Scheduling rules without a server: conflicts, wall-clock times, personal-feed listings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.scheduling import conflicts, domain
from services.scheduling.conflicts import Slot
from shared.problems import Problem

TALLINN = ZoneInfo("Europe/Tallinn")
DAY = date(2031, 4, 28)
HERE = conflicts.place("Tallinn", "Ministry of Foreign Affairs")


def slot(
    id: str,
    start: str,
    end: str,
    *,
    room: str | None = None,
    speakers: tuple[str, ...] = (),
    training: str = "t1",
    place: str = HERE,
    day: date = DAY,
) -> Slot:
    def at(hhmm: str) -> datetime:
        hours, minutes = map(int, hhmm.split(":"))
        return datetime.combine(day, datetime.min.time(), TALLINN) + timedelta(
            hours=hours, minutes=minutes
        )

    return Slot(
        id=id,
        training_id=training,
        training_title=f"Training {training}",
        timezone="Europe/Tallinn",
        title=f"Session {id}",
        starts_at=at(start).astimezone(UTC),
        ends_at=at(end).astimezone(UTC),
        room=room,
        speakers=speakers,
        place=place,
    )


def kinds(found: list[conflicts.Conflict]) -> list[tuple[str, tuple[str, ...]]]:
    return [(c.kind, tuple(s.id for s in c.sessions)) for c in found]


def find(own: list[Slot], others: list[Slot] | None = None) -> list[conflicts.Conflict]:
    return conflicts.find(DAY, DAY, "Europe/Tallinn", own, others or [])


def test_sessions_within_the_day_up_to_midnight_are_inside_the_dates() -> None:
    assert find([slot("a", "00:00", "09:00"), slot("b", "22:00", "24:00")]) == []


def test_a_session_before_the_first_day_or_past_the_last_midnight_is_outside() -> None:
    found = find(
        [slot("eve", "20:00", "22:00", day=DAY - timedelta(days=1)), slot("late", "23:00", "24:30")]
    )
    assert kinds(found) == [("outside_dates", ("eve",)), ("outside_dates", ("late",))]
    assert not any(c.blocking for c in found)
    assert "2031-04-27 20:00" in found[0].message and "EEST" in found[0].message


def test_overlapping_sessions_in_one_room_clash_and_back_to_back_ones_do_not() -> None:
    found = find(
        [
            slot("a", "09:00", "10:00", room="Hall A"),
            slot("b", "10:00", "11:00", room="hall  a"),
            slot("c", "10:30", "11:30", room="HALL A"),
        ]
    )
    assert kinds(found) == [("room", ("b", "c"))]
    assert found[0].blocking and "booked twice" in found[0].message


def test_a_room_of_the_same_name_clashes_across_trainings_only_at_the_same_place() -> None:
    own = [slot("a", "09:00", "10:00", room="Room 1")]
    same_venue = slot("x", "09:30", "10:30", room="Room 1", training="t2")
    elsewhere = slot("y", "09:30", "10:30", room="Room 1", training="t3", place="riga|mfa")
    found = find(own, [same_venue, elsewhere])
    assert kinds(found) == [("room", ("a", "x"))]
    assert "of 'Training t2'" in found[0].message


def test_a_speaker_is_recognised_by_name_without_case_accents_or_punctuation() -> None:
    own = [slot("a", "09:00", "10:00", speakers=("Jüri Tamm",))]
    other = slot("x", "09:45", "11:00", speakers=("juri  TAMM.", "Anna"), training="t2")
    found = find(own, [other])
    assert kinds(found) == [("speaker", ("a", "x"))]
    assert found[0].message.startswith("Jüri Tamm is in two places at once")
    assert conflicts.normalised("Jüri  Tamm.") == conflicts.normalised("juri tamm")
    assert conflicts.normalised("Anna Lindqvist") != conflicts.normalised("Anna Lindquist")


def test_clashes_among_other_trainings_alone_are_not_this_trainings() -> None:
    own = [slot("a", "14:00", "15:00", room="Room 1")]
    others = [
        slot("x", "09:00", "10:00", room="Room 9", training="t2", speakers=("Anna",)),
        slot("y", "09:00", "10:00", room="Room 9", training="t2", speakers=("Anna",)),
    ]
    assert find(own, others) == []


def test_a_naive_time_is_wall_clock_in_the_zone_and_a_skipped_one_is_rejected() -> None:
    assert domain.to_utc(datetime(2031, 3, 30, 2, 30), "Europe/Tallinn", "starts_at") == (
        datetime(2031, 3, 30, 0, 30, tzinfo=UTC)
    )
    with pytest.raises(Problem) as skipped:
        domain.to_utc(datetime(2031, 3, 30, 3, 30), "Europe/Tallinn", "starts_at")
    assert skipped.value.status_code == 422
    # The repeated hour in autumn means its first occurrence, as RFC 5545 reads it.
    assert domain.to_utc(datetime(2031, 10, 26, 3, 30), "Europe/Tallinn", "x") == datetime(
        2031, 10, 26, 0, 30, tzinfo=UTC
    )


def test_a_zone_correction_keeps_the_wall_clock_hours() -> None:
    moment = datetime(2031, 4, 28, 7, 0, tzinfo=UTC)  # 10:00 in Tallinn
    moved = domain.relocalised(moment, "Europe/Tallinn", "Europe/Stockholm", "starts_at")
    assert moved.astimezone(ZoneInfo("Europe/Stockholm")).hour == 10
    assert moved == datetime(2031, 4, 28, 8, 0, tzinfo=UTC)


def test_only_iana_zones_are_accepted() -> None:
    assert domain.zone("Atlantic/Reykjavik").key == "Atlantic/Reykjavik"
    for name in ("Mars/Olympus", "EET+2", "../etc/passwd", ""):
        with pytest.raises(Problem):
            domain.zone(name)


def test_completion_waits_for_the_first_day_in_the_trainings_own_zone() -> None:
    midnight_in_tallinn = datetime(2031, 4, 27, 21, 0, tzinfo=UTC)
    with pytest.raises(Problem):
        domain.check_completable(
            "published", DAY, "Europe/Tallinn", midnight_in_tallinn - timedelta(seconds=1)
        )
    domain.check_completable("published", DAY, "Europe/Tallinn", midnight_in_tallinn)


def test_a_listing_starts_at_the_first_confirmation_and_every_change_raises_its_offset() -> None:
    assert domain.listing_after(None, confirmed=False) is None
    first = domain.listing_after(None, confirmed=True)
    assert first == domain.Listing(True, 0)
    assert domain.listing_after(first, confirmed=True) == first
    dropped = domain.listing_after(first, confirmed=False)
    assert dropped == domain.Listing(False, 1)
    assert domain.listing_after(dropped, confirmed=False) == dropped
    assert domain.listing_after(dropped, confirmed=True) == domain.Listing(True, 2)
    assert domain.personal_status("scheduled", listed=False) == "cancelled"
    assert domain.personal_status("scheduled", listed=True) == "scheduled"
