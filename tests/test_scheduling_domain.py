"""Scheduling rules without a server or a database: conflicts, wall-clock times, the lifecycle,
visibility, patches and personal-feed listings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.scheduling import conflicts, domain
from services.scheduling.conflicts import Slot
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.staff import Staff

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
    with pytest.raises(Invalid) as skipped:
        domain.to_utc(datetime(2031, 3, 30, 3, 30), "Europe/Tallinn", "starts_at")
    assert skipped.value.field == "starts_at"
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
        with pytest.raises(Invalid):
            domain.zone(name)


def test_completion_waits_for_the_first_day_in_the_trainings_own_zone() -> None:
    midnight_in_tallinn = datetime(2031, 4, 27, 21, 0, tzinfo=UTC)
    with pytest.raises(Conflict):
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


# --- who sees what ------------------------------------------------------------------

ORGANISER_EE = Staff(sub="organiser-ee", role="organiser", countries=frozenset({"EE"}))
ORGANISER_LV = Staff(sub="organiser-lv", role="organiser", countries=frozenset({"LV"}))
SECRETARIAT = Staff(sub="secretariat", role="secretariat", countries=frozenset())


def test_a_draft_is_seen_only_by_staff_who_manage_its_host_and_the_rest_by_everyone() -> None:
    assert domain.visible_to("draft", "EE", ORGANISER_EE)
    assert domain.visible_to("draft", "EE", SECRETARIAT)
    assert not domain.visible_to("draft", "EE", ORGANISER_LV)
    assert not domain.visible_to("draft", "EE", None)
    for status in ("published", "completed", "cancelled"):
        assert domain.visible_to(status, "EE", None)
        assert domain.visible_to(status, "EE", ORGANISER_LV)


# --- creating a training ----------------------------------------------------------


def test_a_host_is_an_iso_country_with_its_capital_and_zone() -> None:
    assert domain.host("ee") == ("EE", "Tallinn", "Europe/Tallinn")
    with pytest.raises(Invalid) as unknown:
        domain.host("XX")
    assert unknown.value.field == "host_country"


def test_a_new_training_needs_a_city_and_a_zone_and_the_zone_must_be_iana() -> None:
    assert domain.place("EE", "Tartu", "Europe/Tallinn") == ("Tartu", "Europe/Tallinn")
    for city, zone, field in (
        (None, "Europe/Tallinn", "city"),
        ("Tartu", None, "timezone"),
        ("Tartu", "Mars/Olympus", "timezone"),
    ):
        with pytest.raises(Invalid) as refused:
            domain.place("EE", city, zone)
        assert refused.value.field == field


def test_dates_lie_within_the_century_in_order_and_at_most_31_days_apart() -> None:
    domain.check_dates(DAY, DAY + timedelta(days=31))
    for starts, ends, field in (
        (DAY, DAY - timedelta(days=1), "ends_on"),
        (DAY, DAY + timedelta(days=32), "ends_on"),
        (date(1999, 12, 31), DAY, "starts_on"),
        (DAY, date(2100, 1, 1), "ends_on"),
    ):
        with pytest.raises(Invalid) as refused:
            domain.check_dates(starts, ends)
        assert refused.value.field == field


def test_the_registration_window_and_nomination_deadline_are_wall_clock_times() -> None:
    def moments(opens: Any, closes: Any, nominations: Any = None) -> list[Any]:
        given = SimpleNamespace(
            registration_opens_at=opens,
            registration_closes_at=closes,
            nominations_close_at=nominations,
        )
        return domain.moments(given, "Europe/Tallinn")

    opens, closes, nominations = moments(
        datetime(2031, 4, 1, 9, 0), datetime(2031, 4, 20, 17, 0), datetime(2031, 4, 15, 12, 0)
    )
    assert opens == datetime(2031, 4, 1, 6, 0, tzinfo=UTC)
    assert closes == datetime(2031, 4, 20, 14, 0, tzinfo=UTC)
    assert nominations == datetime(2031, 4, 15, 9, 0, tzinfo=UTC)
    assert moments(None, None) == [None, None, None]
    with pytest.raises(Invalid) as refused:
        moments(datetime(2031, 4, 20, 9, 0), datetime(2031, 4, 1, 9, 0))
    assert refused.value.field == "registration_closes_at"


def test_a_series_slug_is_lower_case_letters_digits_and_dashes() -> None:
    domain.check_slug("cbss-thb-2031")
    for slug in ("CBSS", "-thb", "a b", "x" * 81, ""):
        with pytest.raises(Invalid) as refused:
            domain.check_slug(slug)
        assert refused.value.field == "slug"


# --- changing a training and its sessions ---------------------------------------


def training_now(**changes: object) -> dict[str, object]:
    current: dict[str, object] = {
        "title": "Consular training",
        "venue": "MFA",
        "city": "Tallinn",
        "timezone": "Europe/Tallinn",
        "starts_on": DAY,
        "ends_on": DAY,
        "capacity": 30,
        "registration_opens_at": datetime(2031, 4, 1, 6, 0, tzinfo=UTC),  # 09:00 in Tallinn
        "registration_closes_at": None,
        "moderated": False,
        "language": "en",
        "description": None,
    }
    current.update(changes)
    return current


def test_an_unchanged_value_is_no_change() -> None:
    assert domain.training_changes(training_now(), {"title": "Consular training"}) == {}
    assert domain.training_changes(training_now(), {"title": "New"}) == {"title": "New"}


def test_a_zone_correction_keeps_the_registration_windows_wall_clock_time() -> None:
    changes = domain.training_changes(training_now(), {"timezone": "Europe/Stockholm"})
    assert changes == {
        "timezone": "Europe/Stockholm",
        # 09:00 in Stockholm
        "registration_opens_at": datetime(2031, 4, 1, 7, 0, tzinfo=UTC),
    }
    with pytest.raises(Invalid) as refused:
        domain.training_changes(training_now(), {"timezone": "Mars/Olympus"})
    assert refused.value.field == "timezone"


def test_a_patch_is_checked_with_the_values_it_leaves_alone() -> None:
    with pytest.raises(Invalid) as refused:
        domain.training_changes(training_now(), {"ends_on": DAY - timedelta(days=1)})
    assert refused.value.field == "ends_on"
    with pytest.raises(Invalid) as closes:
        domain.training_changes(
            training_now(), {"registration_closes_at": datetime(2031, 3, 1, 9, 0)}
        )
    assert closes.value.field == "registration_closes_at"


def session_now() -> dict[str, object]:
    return {
        "title": "Opening",
        "kind": "lecture",
        "starts_at": datetime(2031, 4, 28, 7, 0, tzinfo=UTC),
        "ends_at": datetime(2031, 4, 28, 8, 0, tzinfo=UTC),
        "room": "Hall A",
        "speakers": [{"name": "Anna", "organisation": None}],
        "description": None,
    }


def test_a_session_patch_reads_wall_clock_times_and_keeps_the_end_after_the_start() -> None:
    changes = domain.session_changes(
        session_now(), {"starts_at": datetime(2031, 4, 28, 9, 30)}, "Europe/Tallinn"
    )
    assert changes == {"starts_at": datetime(2031, 4, 28, 6, 30, tzinfo=UTC)}
    assert domain.session_changes(session_now(), {"room": "Hall A"}, "Europe/Tallinn") == {}
    with pytest.raises(Invalid) as refused:
        domain.session_changes(
            session_now(), {"starts_at": datetime(2031, 4, 28, 11, 0)}, "Europe/Tallinn"
        )
    assert refused.value.field == "ends_at"
    with pytest.raises(Invalid) as long:
        domain.check_session_times(DAY_START, DAY_START + timedelta(days=8))
    assert long.value.field == "ends_at"


DAY_START = datetime(2031, 4, 28, 6, 0, tzinfo=UTC)


def test_only_draft_and_published_trainings_and_live_sessions_change() -> None:
    for status in ("draft", "published"):
        domain.check_editable(status)
    for status in ("completed", "cancelled"):
        with pytest.raises(Conflict) as frozen:
            domain.check_editable(status)
        assert frozen.value.field == "status"
    with pytest.raises(Conflict) as cancelled:
        domain.check_session_changeable("cancelled")
    assert cancelled.value.field == "status"
    domain.check_session_changeable("scheduled")


# --- the lifecycle ------------------------------------------------------------------


def test_publishing_needs_a_draft_with_a_live_session() -> None:
    change = domain.published("draft", 1, [], override=False)
    assert change == domain.Change(
        "published", "training.published", {"status": "draft"}, {"status": "published"}
    )
    with pytest.raises(Conflict, match="only a draft can be published"):
        domain.published("published", 1, [], override=False)
    with pytest.raises(Conflict, match="at least one session"):
        domain.published("draft", 0, [], override=False)


def test_a_room_clash_blocks_publication_unless_overridden_and_the_override_is_logged() -> None:
    clash = find(
        [slot("a", "09:00", "10:00", room="Hall A"), slot("b", "09:30", "11:00", room="Hall A")]
    )
    with pytest.raises(Conflict) as blocked:
        domain.published("draft", 2, clash, override=False)
    assert blocked.value.field == "override_conflicts"
    assert blocked.value.message.startswith("1 room or speaker conflict(s): ")
    (shown,) = blocked.value.extra["conflicts"]  # type: ignore[misc]
    assert shown["kind"] == "room" and [s["id"] for s in shown["sessions"]] == ["a", "b"]
    assert shown["sessions"][0]["starts_at"].utcoffset() == timedelta(hours=3)
    change = domain.published("draft", 2, clash, override=True)
    assert change.after == {"status": "published", "overridden_conflicts": [clash[0].message]}


def test_completing_needs_a_published_training_whose_first_day_has_begun() -> None:
    first_day = datetime(2031, 4, 27, 21, 0, tzinfo=UTC)  # midnight in Tallinn
    change = domain.completed("published", DAY, "Europe/Tallinn", first_day)
    assert change == domain.Change(
        "completed", "training.completed", {"status": "published"}, {"status": "completed"}
    )
    for status in ("draft", "completed", "cancelled"):
        with pytest.raises(Conflict, match="only a published training can be completed"):
            domain.completed(status, DAY, "Europe/Tallinn", first_day)


def test_drafts_and_published_trainings_are_cancelled_and_others_are_not() -> None:
    for status in ("draft", "published"):
        change = domain.cancelled(status, "venue closed")
        assert change == domain.Change(
            "cancelled",
            "training.cancelled",
            {"status": status},
            {"status": "cancelled", "reason": "venue closed"},
        )
    for status in ("completed", "cancelled"):
        with pytest.raises(Conflict, match=f"a {status} training cannot be cancelled"):
            domain.cancelled(status, None)


def test_a_session_is_cancelled_once_and_only_in_an_editable_training() -> None:
    assert domain.session_cancelled("published", "scheduled") == domain.SESSION_CANCELLED
    assert domain.SESSION_CANCELLED.before == {"status": "scheduled"}
    assert domain.SESSION_CANCELLED.after == {"status": "cancelled"}
    assert domain.session_cancelled("draft", "cancelled") is None
    with pytest.raises(Conflict):
        domain.session_cancelled("completed", "scheduled")


def test_domain_errors_carry_no_http() -> None:
    # Only shared/problems.py maps these to statuses.
    for error in (Invalid, Conflict, NotFound, Forbidden):
        assert not hasattr(error("x"), "status_code")


def test_conflicts_of_several_trainings_at_once_are_each_one_s_as_found_alone() -> None:
    tallinn = [slot("a", "09:00", "10:00", room="Hall"), slot("b", "09:30", "10:30", room="Hall")]
    riga = [
        slot("c", "09:45", "11:00", speakers=("Lars Nord",), training="t2", place="riga"),
        slot("d", "23:00", "24:30", training="t2", place="riga"),
    ]
    tartu = [slot("e", "10:00", "11:00", speakers=("lars  nord",), training="t3", place="tartu")]
    elsewhere = [slot("f", "10:15", "10:45", room="hall", training="t4")]
    each = conflicts.find_each(
        {key: (DAY, DAY, "Europe/Tallinn") for key in ("t1", "t2", "t3")},
        {"t1": tallinn, "t2": riga, "t3": tartu},
        elsewhere,
    )
    assert each == {
        "t1": find(tallinn, [*riga, *tartu, *elsewhere]),
        "t2": find(riga, [*tallinn, *tartu, *elsewhere]),
        "t3": find(tartu, [*tallinn, *riga, *elsewhere]),
    }
    assert kinds(each["t1"]) == [("room", ("a", "b")), ("room", ("b", "f"))]
    assert kinds(each["t2"]) == [("outside_dates", ("d",)), ("speaker", ("c", "e"))]
    assert kinds(each["t3"]) == [("speaker", ("c", "e"))]
