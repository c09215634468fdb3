"""The participant's language: which one a page or mail is in, and its messages.

Participant-facing text is written in English and marked for translation: `_("…")` in
Python, `{{ _("…") }}` or `{% trans %}…{% endtrans %}` in templates. Which language the
marked text comes out in is the one being spoken at that moment: a page sets it for its
request, a mail for the time it is written (`with speaking(registration.language): …`).
The translations are one gettext catalogue per language under `shared/locale`, read with
Babel; a language without a catalogue, or a message missing from one, stays English.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
DEFAULT = "en"

_spoken: ContextVar[str] = ContextVar("language", default=DEFAULT)


def language() -> str:
    """The language being spoken now."""
    return _spoken.get()


@contextmanager
def speaking(code: str) -> Iterator[None]:
    """Write whatever is marked for translation inside the block in `code`."""
    token = _spoken.set(code)
    try:
        yield
    finally:
        _spoken.reset(token)


@cache
def _catalogue(code: str) -> NullTranslations:
    return Translations.load(str(LOCALE_DIR), [code], DOMAIN)


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


def install(environment: Any) -> None:
    """Give a Jinja environment `_`, `gettext`, `ngettext` and `{% trans %}` in the language
    being spoken; Jinja fills the `%(name)s` placeholders itself (and escapes them)."""
    environment.add_extension("jinja2.ext.i18n")
    environment.install_gettext_callables(
        lambda message: _catalogue(language()).gettext(message),
        lambda singular, plural, n: _catalogue(language()).ngettext(singular, plural, n),
        newstyle=True,
    )
