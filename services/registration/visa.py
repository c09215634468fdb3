"""Invitation letters for visa applications: what a request must hold and how it is
decided, without I/O. A confirmed participant requests; the host country decides."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import msgspec

from shared.countries import country, is_country
from shared.errors import Conflict, Invalid
from shared.inputs import is_line, is_text

REQUESTED = "requested"
APPROVED = "approved"
DECLINED = "declined"

FIELDS = ("passport_name", "nationality", "passport_number", "date_of_birth")
NAME_LIMIT = 200
NUMBER_LIMIT = 30
MINISTRY_LIMIT = 1000
# Nobody attending is older than this; an earlier date is a typing error.
OLDEST = date(1900, 1, 1)


class PassportDetails(msgspec.Struct, frozen=True):
    """What the letter says about the person, exactly as their passport has it; sealed at
    rest as this struct's JSON."""

    passport_name: str
    nationality: str
    passport_number: str
    date_of_birth: date

    @property
    def nationality_name(self) -> str:
        return country(self.nationality).name


def problems_of(given: Mapping[str, object], today: date) -> dict[str, str]:
    """Each refused field with why, all at once (for a form); empty when all are fine."""
    problems: dict[str, str] = {}
    name = str(given.get("passport_name") or "").strip()
    if not name:
        problems["passport_name"] = "the name as written in the passport is required"
    elif len(name) > NAME_LIMIT or not is_line(name):
        problems["passport_name"] = f"must be one line of at most {NAME_LIMIT} characters"
    nationality = str(given.get("nationality") or "").strip().upper()
    if not is_country(nationality):
        problems["nationality"] = "must be a country code (ISO 3166-1 alpha-2, e.g. EE)"
    number = str(given.get("passport_number") or "").strip()
    if not number:
        problems["passport_number"] = "the passport number is required"
    elif len(number) > NUMBER_LIMIT or not is_line(number):
        problems["passport_number"] = (
            f"must be one line of at most {NUMBER_LIMIT} characters, without control characters"
        )
    born = _date(given.get("date_of_birth"))
    if born is None:
        problems["date_of_birth"] = "must be a date (YYYY-MM-DD)"
    elif born > today:
        problems["date_of_birth"] = "must not be in the future"
    elif born < OLDEST:
        problems["date_of_birth"] = f"must be after {OLDEST.isoformat()}"
    return problems


def checked(given: Mapping[str, object], today: date) -> PassportDetails:
    """The request's details, or Invalid naming the first refused field."""
    problems = problems_of(given, today)
    for field in FIELDS:
        if field in problems:
            raise Invalid(f"{field} {problems[field]}", field=field)
    return PassportDetails(
        passport_name=str(given["passport_name"]).strip(),
        nationality=str(given["nationality"]).strip().upper(),
        passport_number=str(given["passport_number"]).strip(),
        date_of_birth=_date(given["date_of_birth"]) or OLDEST,  # checked just above
    )


def _date(value: object) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        return None


def may_request(registration_status: str, letter_status: str | None) -> None:
    """Only a confirmed participant asks; an approved letter is not asked for again (a
    request still open is corrected, a declined one asked again)."""
    if registration_status != "confirmed":
        raise Conflict("only a confirmed participant may request a letter", field="status")
    if letter_status == APPROVED:
        raise Conflict("the letter is already approved", field="letter")


def decided(
    registration_status: str, letter_status: str, verdict: str, has_letterhead: bool
) -> str:
    """The letter's status after staff approve or decline a request; only a confirmed
    participant's letter is approved."""
    if letter_status != REQUESTED:
        raise Conflict(f"the letter is already {letter_status}", field="letter")
    if verdict == APPROVED and registration_status != "confirmed":
        raise Conflict("the registration is no longer confirmed", field="status")
    if verdict == APPROVED and not has_letterhead:
        raise Conflict(
            "set the training's letterhead and signatory before approving letters",
            field="letterhead",
        )
    return verdict


def may_download(registration_status: str, letter_status: str) -> None:
    if letter_status != APPROVED:
        raise Conflict(f"the letter is {letter_status}, not approved", field="letter")
    if registration_status != "confirmed":
        raise Conflict("the registration is no longer confirmed", field="status")


def letterhead_problems(ministry: str, signatory_name: str, signatory_title: str) -> dict[str, str]:
    problems = {}
    if not ministry.strip():
        problems["ministry"] = "the ministry's letterhead is required"
    elif len(ministry) > MINISTRY_LIMIT or not is_text(ministry):
        problems["ministry"] = f"at most {MINISTRY_LIMIT} characters, without control characters"
    for field, value in (("signatory_name", signatory_name), ("signatory_title", signatory_title)):
        if not value.strip():
            problems[field] = "is required"
        elif len(value) > NAME_LIMIT or not is_line(value):
            problems[field] = f"must be one line of at most {NAME_LIMIT} characters"
    return problems
