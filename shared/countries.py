"""Country reference data shared by the services: codes, names, capitals and time zones."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

import pycountry

__all__ = [
    "Country",
    "UnknownCountry",
    "all_countries",
    "country",
    "is_country",
]

EU = "EU"
_EU_NAME = "European Union"
_EU_TIMEZONE = "Europe/Brussels"  # the seat of the Commission, the EU's member of the CBSS
_SYSTEM_ZONEINFO = Path("/usr/share/zoneinfo")
_CODE = re.compile(r"[A-Z]{2}")


class UnknownCountry(ValueError):
    """The code is neither an ISO 3166-1 alpha-2 code nor `EU`."""


@dataclass(frozen=True)
class Country:
    code: str  # ISO 3166-1 alpha-2, upper case; "EU" for the European Union
    name: str
    capital: str | None  # capital city in English, e.g. "Tallinn"; "Brussels" for EU
    timezone: str | None  # default IANA zone: the country's only zone, else its capital's


# Capitals in English, without diacritics (the design writes "Reykjavik"). Where a country
# names several capitals, the seat of government is given unless noted. Countries whose
# capital is disputed or ambiguous (e.g. Bolivia, Nauru, Palestine) are left out: None.
_CAPITALS: dict[str, str] = {
    EU: "Brussels",
    # Europe, including the CBSS members and observers and the EU member states.
    "AD": "Andorra la Vella",
    "AL": "Tirana",
    "AM": "Yerevan",
    "AT": "Vienna",
    "AX": "Mariehamn",
    "AZ": "Baku",
    "BA": "Sarajevo",
    "BE": "Brussels",
    "BG": "Sofia",
    "BY": "Minsk",
    "CH": "Bern",
    "CY": "Nicosia",
    "CZ": "Prague",
    "DE": "Berlin",
    "DK": "Copenhagen",
    "EE": "Tallinn",
    "ES": "Madrid",
    "FI": "Helsinki",
    "FO": "Torshavn",
    "FR": "Paris",
    "GB": "London",
    "GE": "Tbilisi",
    "GL": "Nuuk",
    "GR": "Athens",
    "HR": "Zagreb",
    "HU": "Budapest",
    "IE": "Dublin",
    "IS": "Reykjavik",
    "IT": "Rome",
    "LI": "Vaduz",
    "LT": "Vilnius",
    "LU": "Luxembourg",
    "LV": "Riga",
    "MC": "Monaco",
    "MD": "Chisinau",
    "ME": "Podgorica",
    "MK": "Skopje",
    "MT": "Valletta",
    "NL": "Amsterdam",  # the constitutional capital; the government sits in The Hague
    "NO": "Oslo",
    "PL": "Warsaw",
    "PT": "Lisbon",
    "RO": "Bucharest",
    "RS": "Belgrade",
    "RU": "Moscow",
    "SE": "Stockholm",
    "SI": "Ljubljana",
    "SK": "Bratislava",
    "SM": "San Marino",
    "TR": "Ankara",
    "UA": "Kyiv",
    "VA": "Vatican City",
    # Asia.
    "AE": "Abu Dhabi",
    "AF": "Kabul",
    "BD": "Dhaka",
    "BH": "Manama",
    "BN": "Bandar Seri Begawan",
    "BT": "Thimphu",
    "CN": "Beijing",
    "ID": "Jakarta",
    "IL": "Jerusalem",  # as designated by Israel; most embassies are in Tel Aviv
    "IN": "New Delhi",
    "IQ": "Baghdad",
    "IR": "Tehran",
    "JO": "Amman",
    "JP": "Tokyo",
    "KG": "Bishkek",
    "KH": "Phnom Penh",
    "KP": "Pyongyang",
    "KR": "Seoul",
    "KW": "Kuwait City",
    "KZ": "Astana",
    "LA": "Vientiane",
    "LB": "Beirut",
    "LK": "Sri Jayawardenepura Kotte",
    "MM": "Naypyidaw",
    "MN": "Ulaanbaatar",
    "MV": "Male",
    "MY": "Kuala Lumpur",
    "NP": "Kathmandu",
    "OM": "Muscat",
    "PH": "Manila",
    "PK": "Islamabad",
    "QA": "Doha",
    "SA": "Riyadh",
    "SG": "Singapore",
    "SY": "Damascus",
    "TH": "Bangkok",
    "TJ": "Dushanbe",
    "TL": "Dili",
    "TM": "Ashgabat",
    "TW": "Taipei",
    "UZ": "Tashkent",
    "VN": "Hanoi",
    # Africa.
    "AO": "Luanda",
    "BF": "Ouagadougou",
    "BI": "Gitega",
    "BJ": "Porto-Novo",
    "BW": "Gaborone",
    "CD": "Kinshasa",
    "CF": "Bangui",
    "CG": "Brazzaville",
    "CI": "Yamoussoukro",  # the official capital; most institutions are in Abidjan
    "CM": "Yaounde",
    "CV": "Praia",
    "DJ": "Djibouti",
    "DZ": "Algiers",
    "EG": "Cairo",
    "ER": "Asmara",
    "ET": "Addis Ababa",
    "GA": "Libreville",
    "GH": "Accra",
    "GM": "Banjul",
    "GN": "Conakry",
    "GW": "Bissau",
    "KE": "Nairobi",
    "KM": "Moroni",
    "LR": "Monrovia",
    "LS": "Maseru",
    "LY": "Tripoli",
    "MA": "Rabat",
    "MG": "Antananarivo",
    "ML": "Bamako",
    "MR": "Nouakchott",
    "MU": "Port Louis",
    "MW": "Lilongwe",
    "MZ": "Maputo",
    "NA": "Windhoek",
    "NE": "Niamey",
    "NG": "Abuja",
    "RW": "Kigali",
    "SC": "Victoria",
    "SD": "Khartoum",
    "SL": "Freetown",
    "SN": "Dakar",
    "SO": "Mogadishu",
    "SS": "Juba",
    "ST": "Sao Tome",
    "TD": "N'Djamena",
    "TG": "Lome",
    "TN": "Tunis",
    "TZ": "Dodoma",
    "UG": "Kampala",
    "ZA": "Pretoria",  # the executive capital (Cape Town: legislative; Bloemfontein: judicial)
    "ZM": "Lusaka",
    "ZW": "Harare",
    # Americas.
    "AG": "Saint John's",
    "AR": "Buenos Aires",
    "BB": "Bridgetown",
    "BR": "Brasilia",
    "BS": "Nassau",
    "BZ": "Belmopan",
    "CA": "Ottawa",
    "CL": "Santiago",
    "CO": "Bogota",
    "CR": "San Jose",
    "CU": "Havana",
    "DM": "Roseau",
    "DO": "Santo Domingo",
    "EC": "Quito",
    "GD": "Saint George's",
    "GT": "Guatemala City",
    "GY": "Georgetown",
    "HN": "Tegucigalpa",
    "HT": "Port-au-Prince",
    "JM": "Kingston",
    "KN": "Basseterre",
    "LC": "Castries",
    "MX": "Mexico City",
    "NI": "Managua",
    "PA": "Panama City",
    "PE": "Lima",
    "PY": "Asuncion",
    "SR": "Paramaribo",
    "SV": "San Salvador",
    "TT": "Port of Spain",
    "US": "Washington, D.C.",
    "UY": "Montevideo",
    "VC": "Kingstown",
    "VE": "Caracas",
    # Oceania.
    "AU": "Canberra",
    "FJ": "Suva",
    "FM": "Palikir",
    "KI": "Tarawa",
    "MH": "Majuro",
    "NZ": "Wellington",
    "PG": "Port Moresby",
    "PW": "Ngerulmud",
    "SB": "Honiara",
    "TO": "Nuku'alofa",
    "TV": "Funafuti",
    "VU": "Port Vila",
    "WS": "Apia",
}


def _normalise(code: object) -> str:
    """The upper-case code if it is ISO 3166-1 alpha-2 or EU; UnknownCountry otherwise."""
    if not isinstance(code, str) or not _CODE.fullmatch(code.upper()):
        raise UnknownCountry(f"not a country code: {code!r}")
    upper = code.upper()
    if upper != EU and pycountry.countries.get(alpha_2=upper) is None:
        raise UnknownCountry(f"not a country code: {code!r}")
    return upper


def _read_tab(name: str) -> str:
    """A zone table from the tzdata package, else from the system's zoneinfo."""
    try:
        return (files("tzdata.zoneinfo") / name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return (_SYSTEM_ZONEINFO / name).read_text(encoding="utf-8")


def _zones_by_country(name: str) -> dict[str, list[str]]:
    zones: dict[str, list[str]] = {}
    for line in _read_tab(name).splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        for code in fields[0].split(","):
            zones.setdefault(code.strip(), []).append(fields[2].strip())
    return zones


@cache
def _default_zones() -> dict[str, str]:
    """Country code -> its zone, for the countries with exactly one zone in zone1970.tab.

    zone1970.tab decides whether a country has one zone. It names that zone after the first
    country sharing the same clocks since 1970 (Iceland's is Africa/Abidjan, Denmark's
    Europe/Berlin), so where zone.tab gives the country exactly one zone of its own (an
    alias with the same rules: Atlantic/Reykjavik, Europe/Copenhagen) that name is used.
    """
    zone1970 = _zones_by_country("zone1970.tab")
    try:
        own = _zones_by_country("zone.tab")
    except FileNotFoundError:
        own = {}
    defaults: dict[str, str] = {}
    for code, zones in zone1970.items():
        if len(zones) == 1:
            named = own.get(code, [])
            defaults[code] = named[0] if len(named) == 1 else zones[0]
    return defaults


# Countries with several zones default to their capital's zone: a training is held in the
# capital, so its zone is the training's default (Moscow for Russia, not Kaliningrad).
_CAPITAL_ZONES = {
    "AR": "America/Argentina/Buenos_Aires",
    "AU": "Australia/Sydney",
    "BR": "America/Sao_Paulo",
    "CA": "America/Toronto",
    "CD": "Africa/Kinshasa",
    "CL": "America/Santiago",
    "CN": "Asia/Shanghai",
    "CY": "Asia/Nicosia",
    "DE": "Europe/Berlin",
    "EC": "America/Guayaquil",
    "ES": "Europe/Madrid",
    "FM": "Pacific/Pohnpei",
    "GL": "America/Nuuk",
    "ID": "Asia/Jakarta",
    "KI": "Pacific/Tarawa",
    "KZ": "Asia/Almaty",
    "MH": "Pacific/Majuro",
    "MN": "Asia/Ulaanbaatar",
    "MX": "America/Mexico_City",
    "MY": "Asia/Kuala_Lumpur",
    "NZ": "Pacific/Auckland",
    "PG": "Pacific/Port_Moresby",
    "PT": "Europe/Lisbon",
    "RU": "Europe/Moscow",
    "UA": "Europe/Kyiv",
    "US": "America/New_York",
    "UZ": "Asia/Tashkent",
    "VN": "Asia/Ho_Chi_Minh",
}


@cache
def _country(code: str) -> Country:
    if code == EU:
        return Country(code=EU, name=_EU_NAME, capital=_CAPITALS[EU], timezone=_EU_TIMEZONE)
    entry = pycountry.countries.get(alpha_2=code)
    if entry is None:  # _normalise lets only known codes through
        raise UnknownCountry(f"not a country code: {code!r}")
    name = getattr(entry, "common_name", None) or entry.name
    return Country(
        code=code,
        name=name,
        capital=_CAPITALS.get(code),
        timezone=_default_zones().get(code) or _CAPITAL_ZONES.get(code),
    )


def country(code: str) -> Country:
    """The country with this ISO 3166-1 alpha-2 code (any case) or EU."""
    return _country(_normalise(code))


def is_country(code: str) -> bool:
    """Whether `country(code)` would succeed."""
    try:
        _normalise(code)
    except UnknownCountry:
        return False
    return True


def _sort_key(item: Country) -> str:
    decomposed = unicodedata.normalize("NFKD", item.name)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


@cache
def _all_countries() -> tuple[Country, ...]:
    codes = [entry.alpha_2 for entry in pycountry.countries] + [EU]
    return tuple(sorted((_country(code) for code in codes), key=_sort_key))


def all_countries() -> list[Country]:
    """Every country and the EU, sorted by name (accents ignored), for drop-downs."""
    return list(_all_countries())
