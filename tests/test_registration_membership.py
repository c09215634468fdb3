"""The CBSS category of a participant's country, by date: registration's own rule."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from services.registration.membership import _PERIODS, category
from shared.countries import UnknownCountry, is_country

SERIES_2009 = date(2009, 7, 1)
AFTER_2022 = date(2023, 6, 1)
TODAY = date.today()

MEMBERS = ["DK", "EE", "FI", "DE", "IS", "LV", "LT", "NO", "PL", "SE", "EU"]
OBSERVERS_2009 = ["BY", "FR", "IT", "NL", "RO", "SK", "ES", "UA", "GB", "US"]


@pytest.mark.parametrize("code", MEMBERS)
def test_members_are_members_in_2009_and_today(code: str) -> None:
    assert category(code, SERIES_2009) == "member"
    assert category(code, TODAY) == "member"


@pytest.mark.parametrize("code", OBSERVERS_2009)
def test_the_2009_observers_are_observers_in_2009(code: str) -> None:
    assert category(code, SERIES_2009) == "observer"


def test_russia_is_a_member_until_its_withdrawal_and_other_from_that_day() -> None:
    assert category("RU", SERIES_2009) == "member"
    assert category("RU", date(2022, 5, 16)) == "member"
    assert category("RU", date(2022, 5, 17)) == "other"
    assert category("RU", AFTER_2022) == "other"


def test_belarus_is_an_observer_until_its_suspension_and_other_from_that_day() -> None:
    assert category("BY", SERIES_2009) == "observer"
    assert category("BY", date(2022, 3, 2)) == "observer"
    assert category("BY", date(2022, 3, 3)) == "other"
    assert category("BY", AFTER_2022) == "other"


def test_hungary_is_other_in_2009_and_an_observer_today() -> None:
    assert category("HU", SERIES_2009) == "other"
    assert category("HU", TODAY) == "observer"


def test_countries_outside_the_cbss_are_other() -> None:
    assert category("JP", SERIES_2009) == "other"
    assert category("JP", TODAY) == "other"
    assert category("BR", TODAY) == "other"


def test_category_accepts_any_case_and_a_datetime() -> None:
    assert category("de", SERIES_2009) == "member"
    assert category("ru", datetime(2022, 5, 17, 9, 0)) == "other"


def test_category_of_an_unknown_code_raises() -> None:
    with pytest.raises(UnknownCountry):
        category("XX", TODAY)


def test_status_periods_are_valid_codes_and_never_overlap_per_country() -> None:
    for period in _PERIODS:
        assert is_country(period.code)
        assert period.start is None or period.end is None or period.start < period.end
    codes = [period.code for period in _PERIODS]
    assert len(codes) == len(set(codes)), "one period per country: add an overlap check"
