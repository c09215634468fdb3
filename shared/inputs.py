"""What every service accepts as an e-mail address or as text: one rule for all bodies and forms."""

from __future__ import annotations

import re
from typing import Annotated

import msgspec
from email_validator import EmailNotValidError, ValidatedEmail, validate_email

from shared.errors import Invalid

# C0 and C1 control characters (CR, LF, NUL, ESC, DEL, NEL, ...), the Unicode line and
# paragraph separators, and the bidi embeddings, overrides and isolates (U+202A-U+202E,
# U+2066-U+2069): any of them can split a mail header or make a title read otherwise
# than it is stored. Written as escapes so the pattern reads the same in OpenAPI.
_NOT_IN_A_LINE = r"\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
# Free text (descriptions, needs) keeps tab and line feed, nothing else of that kind.
_NOT_IN_TEXT = r"\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"

LINE_PATTERN = f"^[^{_NOT_IN_A_LINE}]*$"
TEXT_PATTERN = f"^[^{_NOT_IN_TEXT}]*$"
_LINE = re.compile(LINE_PATTERN)
_TEXT = re.compile(TEXT_PATTERN)
_CONTROL = re.compile(f"[{_NOT_IN_A_LINE}]+")

# The building blocks of every schema's text fields; a service narrows the lengths.
Line = Annotated[str, msgspec.Meta(max_length=200, pattern=LINE_PATTERN)]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=LINE_PATTERN)]
Name = Title
FreeText = Annotated[str, msgspec.Meta(max_length=5000, pattern=TEXT_PATTERN)]
# An ISO 3166-1 alpha-2 code (or EU) as sent; which codes are known is checked by the rules.
CountryCode = Annotated[str, msgspec.Meta(min_length=2, max_length=2)]
# Checked by `email_address` after decoding (a pattern cannot say what an address is);
# the length bound keeps the check cheap.
Email = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=320,
        description="One bare e-mail address (name@example.org): no display name, no "
        "quoted local part, no domain literal, no encoded words.",
    ),
]

REFUSED_LINE = "must be one line, without control or bidi-override characters"
REFUSED_TEXT = "must not contain control or bidi-override characters other than tab and newline"
NOT_AN_ADDRESS = "is not an e-mail address (name@example.org)"


def is_line(value: str) -> bool:
    return _LINE.match(value) is not None


def is_text(value: str) -> bool:
    return _TEXT.match(value) is not None


def one_line(value: str) -> str:
    """The value with every control, separator and bidi-override character replaced by
    a space: what a mail header may carry of a text stored before these rules."""
    return " ".join(_CONTROL.sub(" ", value).split())


class NotAnAddress(ValueError):
    """A value that is not one bare e-mail address."""


def _checked(value: str) -> ValidatedEmail:
    """email-validator's verdict on a bare address (no display name, no quoted local part,
    no domain literal), plus one refusal of its own: it accepts RFC 2047 encoded words
    ("=?utf-8?q?...?="), which a mail library decodes when the address is put into a
    header, turning one recipient into several or into a header of its own."""
    candidate = value.strip()
    if "=?" in candidate or not is_line(candidate):
        raise NotAnAddress("it contains header syntax or control characters")
    try:
        return validate_email(
            candidate,
            check_deliverability=False,
            allow_smtputf8=False,
            allow_display_name=False,
            allow_quoted_local=False,
            allow_domain_literal=False,
        )
    except EmailNotValidError as exc:
        raise NotAnAddress(str(exc)) from None


def email_address(value: str, field: str = "email") -> str:
    """The address in email-validator's normalised form, or a 422 naming `field`."""
    try:
        return _checked(value).normalized
    except NotAnAddress as exc:
        raise Invalid(f"{field} {NOT_AN_ADDRESS}: {exc}", field=field) from None


def header_address(value: str) -> str:
    """The address as a "To:" header may carry it (an internationalised domain in its
    ASCII form), or NotAnAddress."""
    checked = _checked(value)
    return checked.ascii_email or checked.normalized


def refusal(message: str) -> str | None:
    """The readable reason when a decoding error is one of these text rules, else None.

    msgspec names the pattern a value failed; the problem details name the rule instead,
    with 422 like every other refused value."""
    if repr(LINE_PATTERN) in message:
        return REFUSED_LINE
    if repr(TEXT_PATTERN) in message:
        return REFUSED_TEXT
    return None
