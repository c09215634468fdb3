"""The participant's language: which one a page or mail is in, its messages and its dates.

Participant-facing text is written in English and marked for translation: `_("…")` in
Python, `{{ _("…") }}` or `{% trans %}…{% endtrans %}` in templates. Which language the
marked text comes out in is the one being spoken at that moment: a page sets it for its
request (shared.languages), a mail for the time it is written
(`with speaking(registration.language): …`). The translations are one gettext catalogue
per language, `shared/locale/<lang>/LC_MESSAGES/messages.po`, compiled in memory with Babel
the first time it is used (decision 23); a language without a catalogue, or a message
missing from one, stays English. Dates and times are written by Babel for the language.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date as Date
from datetime import datetime as DateTime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel import dates as babel_dates
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
DEFAULT = "en"
# English is written the British way (7 December 2009, 09:00), as the series always has.
_FORMAT_LOCALES = {"en": "en_GB"}
DASH = "\u2013"

_spoken: ContextVar[str] = ContextVar("language", default=DEFAULT)


def language() -> str:
    """The language being spoken now."""
    return _spoken.get()


@contextmanager
def speaking(code: str | None) -> Iterator[None]:
    """Write whatever is marked for translation inside the block in `code` (English when
    None, e.g. a row written before languages were kept)."""
    token = _spoken.set(code or DEFAULT)
    try:
        yield
    finally:
        _spoken.reset(token)


def speak(code: str) -> None:
    """Speak `code` from now on in the current context (a request's page)."""
    _spoken.set(code)


def catalogue_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def _catalogue(code: str) -> NullTranslations:
    """The language's messages, compiled from its .po file in memory (no .mo in git)."""
    path = catalogue_path(code)
    if code == DEFAULT or not path.exists():
        return NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=code)
    compiled = io.BytesIO()
    # Fuzzy entries are guesses of a merge: they stay English until someone confirms them.
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def gettext(message: str, **variables: Any) -> str:
    """`message` in the language being spoken, with `%(name)s` filled from `variables`."""
    text = _catalogue(language()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: Any) -> str:
    """The form of `singular`/`plural` for `n` in the language being spoken (`%(num)d` is
    `n`)."""
    text = _catalogue(language()).ngettext(singular, plural, n)
    return text % {"num": n, **variables}


_ = gettext


def pgettext(context: str, message: str, **variables: Any) -> str:
    """`message` as said in `context`, where one English word needs different translations
    ("Cancelled": a registration, a training, a session)."""
    text = str(_catalogue(language()).pgettext(context, message))
    return text % variables if variables else text


def N_(message: str) -> str:
    """Marks `message` for the catalogues where it is defined (a table of labels) without
    translating it: whoever shows it calls `_(label)` in the language of the moment."""
    return message


def _locale() -> Locale:
    code = language()
    return Locale.parse(_FORMAT_LOCALES.get(code, code))


def date(day: Date) -> str:
    """The day as a reader of the language writes it: '7 December 2009', '7. Dezember
    2009', '7 grudnia 2009'."""
    return babel_dates.format_date(day, "long", locale=_locale())


def weekday_date(day: Date) -> str:
    """'Monday, 7 December 2009' in the language being spoken."""
    return babel_dates.format_date(day, "full", locale=_locale())


def dates(first: Date, last: Date) -> str:
    """A span of days, the month and year written once where they repeat (7-8 December
    2009, with an en dash)."""
    if first == last:
        return date(first)
    locale = _locale()
    # CLDR's interval patterns abbreviate the month (yMMMd) where they have no yMMMMd; the
    # long month of the same pattern reads like the long dates around it.
    skeleton = "yMMMMd" if "yMMMMd" in locale.interval_formats else "yMMMd"
    differs = "y" if first.year != last.year else "M" if first.month != last.month else "d"
    patterns = locale.interval_formats[skeleton].get(differs)
    if not patterns:
        return f"{date(first)} {DASH} {date(last)}"
    text = "".join(
        babel_dates.parse_pattern(_long_month(pattern)).apply(day, locale)
        for day, pattern in zip((first, last), patterns, strict=True)
    )
    # Between two bare days the dash takes no spaces: 25-26 May 2009 (with an en dash).
    return re.sub(rf"(\d)\s{DASH}\s(\d)", rf"\1{DASH}\2", text)


def _long_month(pattern: str) -> str:
    return re.sub(r"(?<!M)MMM(?!M)", "MMMM", pattern)


def time(moment: DateTime) -> str:
    """The wall-clock time of `moment` in its own zone ('09:00')."""
    return babel_dates.format_time(moment, "short", tzinfo=moment.tzinfo, locale=_locale())


def zone(moment: DateTime) -> str:
    """The name of `moment`'s zone at that moment ('Central European Standard Time')."""
    return babel_dates.get_timezone_name(moment, "long", locale=_locale())


def local(at: DateTime, timezone: str) -> DateTime:
    """`at` on the clocks of `timezone` (the capital's)."""
    return at.astimezone(ZoneInfo(timezone))


def moment(at: DateTime, timezone: str | None = None) -> str:
    """A date and time with its zone named, in `timezone` when given (the capital's):
    '7 December 2009, 09:00 (Central European Standard Time)'."""
    if timezone:
        at = local(at, timezone)
    return _("%(date)s, %(time)s (%(zone)s)", date=date(at.date()), time=time(at), zone=zone(at))


def country_name(code: str, english: str) -> str:
    """A country's name in the language being spoken (CLDR's), else `english`."""
    if language() == DEFAULT:
        return english
    return str(_locale().territories.get(code.upper(), english))


def name_of(code: str) -> str:
    """A language's own name for itself: English, Deutsch, Polski, Русский."""
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


def install(environment: Any) -> None:
    """Give a Jinja environment `_`, `gettext`, `ngettext` and `{% trans %}` in the language
    being spoken (Jinja fills the `%(name)s` placeholders itself, and escapes them), and the
    date helpers as filters: `{{ day | date }}`, `{{ first | dates(last) }}`,
    `{{ at | moment }}`, `{{ at | time }}`."""
    environment.add_extension("jinja2.ext.i18n")
    environment.install_gettext_callables(
        lambda message: _catalogue(language()).gettext(message),
        lambda singular, plural, n: _catalogue(language()).ngettext(singular, plural, n),
        newstyle=True,
        pgettext=lambda context, message: _catalogue(language()).pgettext(context, message),
        npgettext=lambda context, singular, plural, n: _catalogue(language()).npgettext(
            context, singular, plural, n
        ),
    )
    # Each filter is named as its function.
    filters = (date, weekday_date, dates, time, zone, moment, local)
    environment.filters.update({f.__name__: f for f in filters})
    environment.globals.update(language=language, language_name=name_of)
