"""The message catalogues: extract what the source marks, merge it into every language's
.po, and check that every catalogue is complete.

    python -m shared.catalogues update   # after strings change: extract and merge
    python -m shared.catalogues check    # every message translated, no fuzzy, same placeholders

`update` rewrites `shared/locale/<lang>/LC_MESSAGES/messages.po` for every language that has
one (add a language by creating its directory and running `update`); new messages come out
untranslated (or fuzzy, with a guess from a similar one) until someone translates them, and
`check` (also run by tests/test_languages.py) names each. Only .po files are kept: the
service compiles them when it loads them (shared.i18n, decision 23).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from shared.i18n import DEFAULT, DOMAIN, LOCALE_DIR, catalogue_path

ROOT = Path(__file__).resolve().parent.parent
MAPPING = ROOT / "babel.cfg"
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "N_": None,
}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdr]")


def languages() -> list[str]:
    """Every language with a catalogue (English is the source and has none)."""
    return sorted(path.name for path in LOCALE_DIR.iterdir() if (path / "LC_MESSAGES").is_dir())


def extract() -> Catalog:
    """Every message the source marks, as a template catalogue."""
    with MAPPING.open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    template = Catalog(project="Capitals", domain=DOMAIN, locale=None, charset="utf-8")
    found = extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    )
    for filename, lineno, message, comments, context in found:
        template.add(
            message,
            None,
            [(filename, lineno)],
            auto_comments=comments,
            context=context,
            flags=("python-format",) if _placeholders(message) else (),
        )
    return template


def _read(code: str) -> Catalog:
    with catalogue_path(code).open("rb") as source:
        return read_po(source, locale=code)


def update() -> list[str]:
    """Merge the source's messages into every catalogue; the languages updated."""
    template = extract()
    updated = []
    for code in languages():
        path = catalogue_path(code)
        catalog = _read(code) if path.exists() else Catalog(locale=code, domain=DOMAIN)
        # The header keeps its date: only a change of messages changes the file.
        catalog.update(template, update_creation_date=False)
        catalog.project, catalog.version, catalog.fuzzy = "Capitals", "", False
        catalog.copyright_holder = "the Capitals contributors"
        with path.open("wb") as target:
            # No line numbers: a catalogue changes only when its messages do, so parallel
            # branches that move code around do not conflict in it.
            write_po(target, catalog, width=88, ignore_obsolete=True, include_lineno=False)
        updated.append(code)
    return updated


def _placeholders(message: str | Iterable[str]) -> set[str]:
    texts = [message] if isinstance(message, str) else list(message)
    return {name for text in texts if text for name in PLACEHOLDER.findall(text)}


def _problems_of(code: str, catalog: Catalog, wanted: set[str]) -> list[str]:
    problems = []
    present = set()
    for message in catalog:
        if not message.id:
            continue
        key = _key(message)
        present.add(key)
        if key not in wanted:
            problems.append(f"{code}: {key!r} is no longer in the source (run update)")
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(f"{code}: {key!r} is fuzzy")
        elif not all(strings):
            problems.append(f"{code}: {key!r} is not translated")
        else:
            # Every placeholder of the message, and no other; `num` may be left out of a
            # plural form (Polish and Russian say "one" in words).
            expected = _placeholders(message.id or "")
            for text in strings:
                if not isinstance(text, str):
                    continue
                if _placeholders(text) - expected or expected - {"num"} - _placeholders(text):
                    problems.append(f"{code}: {key!r} has other placeholders: {text!r}")
    problems += [f"{code}: {key!r} is missing (run update)" for key in sorted(wanted - present)]
    return problems


def _key(message: Message) -> str:
    text = message.id if isinstance(message.id, str) else message.id[0]
    return f"{message.context}|{text}" if message.context else text


def check() -> list[str]:
    """Every problem of every catalogue against the source, one line each."""
    wanted = {_key(message) for message in extract() if message.id}
    problems = []
    for code in languages():
        if code == DEFAULT:
            continue
        problems += _problems_of(code, _read(code), wanted)
    return problems


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "update":
        print("updated:", ", ".join(update()))
        problems = check()
    elif command == "check":
        problems = check()
    else:
        print(__doc__)
        return 2
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
