"""Country reference data: validation, capitals, default zones."""

from __future__ import annotations

import dataclasses
from datetime import date
from zoneinfo import ZoneInfo

import pycountry
import pytest

from shared.countries import (
    _CAPITALS,
    Country,
    UnknownCountry,
    all_countries,
    country,
    is_country,
)

SERIES_2009 = date(2009, 7, 1)
AFTER_2022 = date(2023, 6, 1)
TODAY = date.today()

MEMBERS = ["DK", "EE", "FI", "DE", "IS", "LV", "LT", "NO", "PL", "SE", "EU"]
OBSERVERS_2009 = ["BY", "FR", "IT", "NL", "RO", "SK", "ES", "UA", "GB", "US"]


# Default time zones ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "zone"),
    [
        # A country with one zone has it as its default.
        ("EE", "Europe/Tallinn"),
        ("IS", "Atlantic/Reykjavik"),
        ("BE", "Europe/Brussels"),
        ("DK", "Europe/Copenhagen"),
        ("NO", "Europe/Oslo"),
        ("SE", "Europe/Stockholm"),
        ("NL", "Europe/Amsterdam"),
        ("LV", "Europe/Riga"),
        ("LT", "Europe/Vilnius"),
        ("FI", "Europe/Helsinki"),
        ("PL", "Europe/Warsaw"),
        ("EU", "Europe/Brussels"),
        # A country with several zones defaults to its capital's.
        ("US", "America/New_York"),
        ("RU", "Europe/Moscow"),
        ("CA", "America/Toronto"),
        ("AU", "Australia/Sydney"),
        # Germany counts two zones in zone1970.tab: Europe/Berlin and Europe/Zurich (Buesingen).
        ("DE", "Europe/Berlin"),
    ],
)
def test_a_countrys_default_zone_is_its_only_zone_or_else_its_capitals(
    code: str, zone: str
) -> None:
    assert country(code).timezone == zone


def test_every_default_zone_loads() -> None:
    for item in all_countries():
        if item.timezone is not None:
            ZoneInfo(item.timezone)


# Capitals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "capital"),
    [
        ("DK", "Copenhagen"),
        ("EE", "Tallinn"),
        ("IS", "Reykjavik"),
        ("LT", "Vilnius"),
        ("FI", "Helsinki"),
        ("EU", "Brussels"),
        ("DE", "Berlin"),
        ("PL", "Warsaw"),
        ("SE", "Stockholm"),
        ("NO", "Oslo"),
        ("RU", "Moscow"),
        ("LV", "Riga"),
    ],
)
def test_the_series_capitals_are_right(code: str, capital: str) -> None:
    assert country(code).capital == capital


def test_every_member_observer_and_eu_member_state_has_a_capital() -> None:
    eu_states = "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE"
    for code in [*MEMBERS, *OBSERVERS_2009, "RU", "HU", *eu_states.split()]:
        assert country(code).capital, code


def test_a_country_missing_from_the_capital_table_has_none() -> None:
    assert country("AQ").capital is None  # Antarctica


def test_the_capital_table_uses_valid_codes_and_plain_english_names() -> None:
    for code, capital in _CAPITALS.items():
        assert is_country(code), code
        assert capital.isascii() and capital.strip() == capital, capital


# Lookup and validation ------------------------------------------------------------------


def test_lookup_is_case_insensitive() -> None:
    assert country("ee") == country("EE") == country("Ee")
    assert country("eu").code == "EU"
    assert is_country("se")


def test_a_country_carries_its_upper_case_code_and_name() -> None:
    assert country("ee") == Country("EE", "Estonia", "Tallinn", "Europe/Tallinn")
    assert country("EU").name == "European Union"


def test_a_country_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        country("EE").capital = "Tartu"  # type: ignore[misc]


@pytest.mark.parametrize(
    "code", ["", "E", "EST", "XX", "ZZ", "E1", "12", " EE", "EE ", "ÉE", "eu1", None, 23]
)
def test_unknown_codes_raise_and_are_not_countries(code: object) -> None:
    with pytest.raises(UnknownCountry):
        country(code)  # type: ignore[arg-type]
    assert not is_country(code)  # type: ignore[arg-type]


def test_unknown_country_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        country("QQ")


# All countries --------------------------------------------------------------------------


def test_all_countries_lists_every_iso_country_and_the_eu() -> None:
    codes = [item.code for item in all_countries()]
    assert len(codes) == len(set(codes)) == len(pycountry.countries) + 1
    assert "EU" in codes and "EE" in codes


def test_all_countries_is_sorted_by_name_ignoring_accents() -> None:
    names = [item.name for item in all_countries()]
    assert names[0] == "Afghanistan"
    assert names.index("Åland Islands") < names.index("Albania")
    assert names.index("Estonia") < names.index("European Union") < names.index("Finland")


def test_all_countries_returns_a_fresh_list() -> None:
    first = all_countries()
    first.clear()
    assert all_countries()
