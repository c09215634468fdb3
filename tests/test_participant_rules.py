"""The pure rules of the participant's journey: correcting one's details, and what of a
programme's changes a participant is told (no I/O, fast)."""

from __future__ import annotations

import pytest

from services.registration import programme
from services.registration.corrections import Details, corrected
from shared.errors import Invalid

LANGUAGES = ("en", "de", "pl", "ru")
CURRENT = Details("Liis Kask", "Embassy of Estonia", None, {"diet": "vegetarian"}, "en")


def test_only_the_fields_given_change_and_empty_ones_clear() -> None:
    after = corrected(
        CURRENT,
        {"name": "  Liis Tamm ", "position": "Consul", "needs": {"diet": "", "access": "ramp"}},
        LANGUAGES,
    )
    assert after == Details("Liis Tamm", "Embassy of Estonia", "Consul", {"access": "ramp"}, "en")
    assert corrected(after, {"position": ""}, LANGUAGES).position is None
    assert corrected(CURRENT, {}, LANGUAGES) == CURRENT


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "  "}, "name"),
        ({"organisation": "x" * 201}, "organisation"),
        ({"position": "two\nlines"}, "position"),
        ({"needs": {"diet": "x" * 5001}}, "needs.diet"),
        ({"needs": {"access": "bell\x07"}}, "needs.access"),
        ({"needs": {"shoes": "red"}}, "needs"),
        ({"language": "tlh"}, "language"),
    ],
)
def test_a_bad_correction_is_refused_naming_its_field(
    changes: dict[str, object], field: str
) -> None:
    with pytest.raises(Invalid) as refused:
        corrected(CURRENT, changes, LANGUAGES)
    assert refused.value.field == field


def _session(revision: int, hour: int, **changes: object) -> dict[str, object]:
    return {
        "id": "s1",
        "revision": revision,
        "title": "Referral in practice",
        "starts_at": f"2031-09-02T{hour:02d}:00:00+03:00",
        "ends_at": f"2031-09-02T{hour + 1:02d}:00:00+03:00",
        "room": "Hall A",
        "status": "scheduled",
        **changes,
    }


def test_a_session_is_kept_only_when_its_revision_is_newer() -> None:
    kept, news = programme.merged([_session(2, 9)], [_session(1, 14), _session(3, 10)])
    assert [s["revision"] for s in kept] == [3]
    assert [(before and before["revision"], after["revision"]) for before, after in news] == [
        (2, 3)
    ]


def test_a_burst_reads_as_one_change_per_session_and_a_change_undone_says_nothing() -> None:
    moved_twice = programme.session_changes(_session(1, 9), _session(2, 11)) + (
        programme.session_changes(_session(2, 11), _session(3, 14))
    )
    assert programme.summary(moved_twice) == [
        {
            "session": "s1",
            "title": "Referral in practice",
            "what": "moved",
            "before": "2031-09-02T09:00:00+03:00",
            "after": "2031-09-02T14:00:00+03:00",
        }
    ]
    there_and_back = programme.session_changes(_session(1, 9), _session(2, 11)) + (
        programme.session_changes(_session(2, 11), _session(3, 9))
    )
    assert programme.summary(there_and_back) == []
    moved_then_cancelled = moved_twice + programme.session_changes(
        _session(3, 14), _session(4, 14, status="cancelled")
    )
    assert [line["what"] for line in programme.summary(moved_then_cancelled)] == ["cancelled"]
    room = programme.session_changes(_session(1, 9), _session(2, 9, room="Hall B"))
    assert room == [
        {
            "session": "s1",
            "title": "Referral in practice",
            "what": "room",
            "before": "Hall A",
            "after": "Hall B",
        }
    ]
    assert programme.venue_change("A", "A") == []


def test_the_zone_is_named_with_its_abbreviation_and_offset_on_the_day() -> None:
    from datetime import date

    assert programme.zone_name("Europe/Tallinn", date(2031, 9, 2)) == (
        "Europe/Tallinn (EEST, UTC+03:00)"
    )
    assert programme.zone_name("Europe/Tallinn", date(2031, 12, 2)) == (
        "Europe/Tallinn (EET, UTC+02:00)"
    )
