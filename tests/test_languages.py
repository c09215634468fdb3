"""Participants' languages: every page and mail in every language of CAPITALS_LANGUAGES, the
order in which a page's language is chosen, the API's `language`, and dates written by Babel."""

# Dates in Cyrillic and with en dashes are what these tests are about.
# ruff: noqa: RUF001

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from functools import cache
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from services.evaluation import mails as evaluation_mails
from services.registration import mails, nomination_mails, notice_mails
from shared import catalogues, i18n
from shared.languages import best_match, choose
from shared.mail import Mail, build_message
from shared.settings import load_settings

LANGUAGES = ("en", "de", "pl", "ru")
TRANSLATED = ("de", "pl", "ru")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\n")


@cache
def _english_phrases() -> frozenset[str]:
    """Every stretch of English the source marks (between its placeholders) that is long
    enough to be a sentence's worth: what must not be left in a translated page or mail."""
    phrases = set()
    for message in catalogues.extract():
        texts = [message.id] if isinstance(message.id, str) else list(message.id)
        for text in texts:
            for part in PLACEHOLDER.split(text or ""):
                part = part.strip(" .,:;()")
                if len(part) >= 14 and " " in part:
                    phrases.add(part)
    return frozenset(phrases)


# An English date (7 December 2009, December 7) or weekday in a translated text was written
# by strftime, not Babel; German shares four month names, but writes "7. September".
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
ENGLISH_CALENDAR = re.compile(
    rf"\b\d{{1,2}} (?:{_MONTHS})\b|\b(?:{_MONTHS}) \d{{1,2}}\b"
    r"|\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
)


def english_left(text: str) -> list[str]:
    """The English source phrases, months and weekdays left in `text`."""
    left = {phrase for phrase in _english_phrases() if phrase in text}
    return sorted(left | set(ENGLISH_CALENDAR.findall(text)))


# --- catalogues ---------------------------------------------------------------------------


def test_every_catalogue_translates_every_message_the_source_marks() -> None:
    # Every msgid of the source is in every catalogue, translated, not fuzzy, with the same
    # placeholders; and no catalogue keeps a message the source no longer has.
    assert catalogues.check() == []
    assert set(catalogues.languages()) >= set(TRANSLATED)


def test_a_catalogue_check_names_what_is_wrong() -> None:
    from babel.messages.catalog import Catalog

    broken = Catalog(locale="de")
    broken.add("Your seat at %(when)s is confirmed.", "Ihr Platz ist bestätigt.")
    broken.add("Registration confirmed", "Anmeldung bestätigt", flags=["fuzzy"])
    broken.add("Registration received", "")
    wanted = {"Your seat at %(when)s is confirmed.", "Registration confirmed", "Timetable"}
    wanted.add("Registration received")
    problems = catalogues._problems_of("de", broken, wanted)
    assert any("other placeholders" in p for p in problems)
    assert any("'Registration confirmed' is fuzzy" in p for p in problems)
    assert any("'Registration received' is not translated" in p for p in problems)
    assert any("'Timetable' is missing" in p for p in problems)


# --- choosing the language ----------------------------------------------------------------


def test_accept_language_picks_the_best_offered_and_a_region_falls_back_to_its_language() -> None:
    assert best_match("de-AT,de;q=0.9,en;q=0.5", LANGUAGES) == "de"
    assert best_match("fr-FR, pl;q=0.8, ru;q=0.9", LANGUAGES) == "ru"
    assert best_match("en-GB", LANGUAGES) == "en"
    assert best_match("fr, it", LANGUAGES) is None
    assert best_match("pl;q=0, *;q=0.1", LANGUAGES) == "en"
    assert best_match("", LANGUAGES) is None


def test_the_switcher_then_the_cookie_then_the_registration_then_accept_language() -> None:
    def pick(**given: str | None) -> str:
        asked = {"query": None, "cookie": None, "accept_language": None, "holder": None}
        return choose(**{**asked, **given}, offered=LANGUAGES)[0]

    assert pick(query="ru", cookie="de", holder="pl", accept_language="de") == "ru"
    assert pick(cookie="de", holder="pl", accept_language="ru") == "de"
    assert pick(holder="pl", accept_language="ru") == "pl"
    assert pick(accept_language="de-CH") == "de"
    assert pick() == "en"
    # What is not offered is passed over.
    assert pick(query="fr", cookie="xx", holder="it", accept_language="pl") == "pl"
    assert choose(query="de", cookie=None, accept_language=None, offered=LANGUAGES) == ("de", True)


# --- dates --------------------------------------------------------------------------------


def test_dates_and_times_are_written_for_the_language_without_zero_padding() -> None:
    day = date(2009, 12, 7)
    expected = {
        "en": "7 December 2009",
        "de": "7. Dezember 2009",
        "pl": "7 grudnia 2009",
        "ru": "7 декабря 2009\u202fг.",
    }
    for code, written in expected.items():
        with i18n.speaking(code):
            assert i18n.date(day) == written
    at = datetime(2009, 12, 7, 8, 0, tzinfo=UTC)
    with i18n.speaking("de"):
        assert i18n.dates(date(2009, 5, 25), date(2009, 5, 26)) == "25.–26. Mai 2009"
        assert i18n.moment(at, "Europe/Stockholm") == (
            "7. Dezember 2009, 09:00 Uhr (Mitteleuropäische Normalzeit)"
        )
    with i18n.speaking("en"):
        assert i18n.dates(date(2009, 5, 25), date(2009, 5, 26)) == "25–26 May 2009"
        assert i18n.weekday_date(date(2009, 11, 11)) == "Wednesday, 11 November 2009"
        assert i18n.moment(at, "Europe/Stockholm") == (
            "7 December 2009, 09:00 (Central European Standard Time)"
        )
    with i18n.speaking("ru"):
        assert (
            i18n.dates(date(2009, 11, 30), date(2009, 12, 1))
            == "30 ноября — 1 декабря 2009\u202fг."
        )


# --- mails --------------------------------------------------------------------------------


def _facts(language: str, **changes: str) -> mails.MailFacts:
    values = {
        "name": "Anna Nowak",
        "email": "anna.nowak@msz.example",
        "title": "Regional conference on trafficking in human beings, Stockholm",
        "starts_on": date(2009, 12, 7),
        "city": "Stockholm",
        "manage_url": "http://127.0.0.1:8001/manage/token",
        "calendar_url": "http://127.0.0.1:8001/calendars/feed.ics",
        "language": language,
        **changes,
    }
    return mails.MailFacts(**values)


def _every_mail(language: str) -> dict[str, Mail]:
    facts = _facts(language)
    elsewhere = _facts(language, title="Trafficking in human beings", city="Vilnius")
    training = SimpleNamespace(
        title="Trafficking in human beings", city="Tallinn", timezone="Europe/Tallinn"
    )
    closes = datetime(2009, 5, 28, 21, 30, tzinfo=UTC)  # 29 May, 00:30 in Tallinn
    evaluation = SimpleNamespace(stage="evaluation", closes_at=closes)
    follow_up = SimpleNamespace(stage="follow_up", closes_at=closes)
    url = "http://127.0.0.1:8003/evaluations/token"
    args = ("Mari Tamm", "mari.tamm@mfa.example", url, language)
    person = ("Anna Nowak", facts.email, facts.calendar_url)
    return {
        "confirmed": mails.told(facts, "confirmed"),
        "promoted": mails.told(elsewhere, "promoted"),
        "waitlisted": mails.waitlisted(facts, 3, None),
        "waitlisted by quota": mails.waitlisted(facts, 1, "country_quota"),
        "pending": mails.told(facts, "pending"),
        "declined": mails.status_mail(facts, "declined", message="Perhaps next time."),
        "cancelled": mails.told(facts, "cancelled"),
        "training cancelled": mails.training_cancelled(facts, "The venue is closed."),
        "links again": mails.links(*person, [facts, elsewhere], language),
        "no links": mails.links(*person, [], language),
        "to confirmed": mails.to_confirmed(facts, "Room change", "We meet in room 2."),
        "invitation": evaluation_mails.invitation(training, evaluation, *args),
        "follow-up": evaluation_mails.invitation(training, follow_up, *args),
        "reminder": evaluation_mails.reminder(training, evaluation, *args),
        "follow-up reminder": evaluation_mails.reminder(training, follow_up, *args),
        "letter approved": mails.letter_decided(facts, "approved"),
        "letter declined": mails.letter_decided(facts, "declined"),
        "certificate issued": mails.certificate_issued(facts, "http://127.0.0.1:8001/c.pdf"),
        "certificate withdrawn": mails.certificate_withdrawn(facts),
        **_notice_mails(language),
        **_nomination_mails(language),
    }


SESSION = {
    "id": "s1",
    "title": "Identifying victims",
    "starts_at": "2009-12-07T08:00:00+00:00",
    "ends_at": "2009-12-07T10:00:00+00:00",
    "room": "Hall A",
    "status": "scheduled",
    "kind": "lecture",
}


def _notice_mails(language: str) -> dict[str, Mail]:
    """The programme's change summary and the reminder (written inside `speaking`, as
    services.registration.notices does)."""
    facts, zone, page = _facts(language), "Europe/Stockholm", "http://127.0.0.1:8002/t/page"
    before, after = "2009-12-07T08:00:00+00:00", "2009-12-07T13:00:00+00:00"
    changes = [
        {"what": "moved", "title": "Identifying victims", "before": before, "after": after},
        {"what": "cancelled", "title": "Panel", "before": before},
        {"what": "added", "title": "Case study", "after": after},
        {"what": "room", "title": "Case study", "after": None},
        {"what": "venue", "before": "Old Town Hall", "after": "City Hall"},
    ]
    with i18n.speaking(language):
        return {
            "programme changed": notice_mails.changes_summary(facts, changes, zone, page),
            "reminder before the training": notice_mails.reminder(
                facts, venue="City Hall", sessions=[SESSION], timezone=zone, training_page=page
            ),
            "reminder without a programme": notice_mails.reminder(
                facts, venue="City Hall", sessions=[], timezone=zone, training_page=page
            ),
        }


def _nomination_mails(language: str) -> dict[str, Mail]:
    settings = load_settings({"CAPITALS_DATA_DIR": "/nonexistent"})
    training = SimpleNamespace(
        title="Trafficking in human beings",
        starts_on=date(2009, 12, 7),
        city="Riga",
        language=language,
    )
    person = {"name": "Anna Nowak", "email": "anna@msz.example"}
    written = {
        f"nominee {status}": nomination_mails.nominee_mail(
            settings, training, SimpleNamespace(id="n1", status=status, **person)
        )
        for status in ("offered", "waiting")
    }
    written["focal point named"] = nomination_mails.focal_point_named(
        settings, training, SimpleNamespace(id="f1", **person), "PL"
    )
    return written


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_participant_mail_is_written_wholly_in_the_participants_language(
    language: str,
) -> None:
    for kind, mail in _every_mail(language).items():
        assert english_left(mail.subject + "\n" + mail.text) == [], (language, kind)
        assert mail.text != _every_mail("en")[kind].text, (language, kind)


@pytest.mark.parametrize("language", LANGUAGES)
def test_mails_name_the_city_once_and_write_dates_unpadded(language: str) -> None:
    written = _every_mail(language)
    with i18n.speaking(language):
        day, closes = i18n.date(date(2009, 12, 7)), i18n.date(date(2009, 5, 29))
    # The title names Stockholm already: the city is not said again.
    assert written["confirmed"].text.count("Stockholm") == 1
    assert day in written["confirmed"].text and "07 " not in written["confirmed"].text
    # The other training: its capital is named once, beside its date.
    assert written["promoted"].text.count("Vilnius") == 1
    # The evaluation closes on the capital's day (already 29 May in Tallinn).
    assert closes in written["invitation"].text
    assert written["invitation"].text.count("Tallinn") == 1


def test_english_mails_read_as_before() -> None:
    written = _every_mail("en")
    confirmed = written["confirmed"]
    assert confirmed.subject == (
        "Registration confirmed: Regional conference on trafficking in human beings, Stockholm"
    )
    assert confirmed.text.startswith("Dear Anna Nowak,\n\nYour seat at Regional conference")
    assert "(7 December 2009) is confirmed." in confirmed.text
    assert "number 3 on the waiting list" in written["waitlisted"].text
    assert "The organisers wrote:\nPerhaps next time." in written["declined"].text
    assert "open until 29 May 2009" in written["invitation"].text


def test_a_german_confirmation_reads_as_german() -> None:
    mail = mails.told(_facts("de", title="Menschenhandel erkennen", city="Berlin"), "confirmed")
    assert mail.subject == "Anmeldung bestätigt: Menschenhandel erkennen"
    assert mail.text.startswith(
        "Guten Tag Anna Nowak,\n\nIhr Platz bei „Menschenhandel erkennen“ (Berlin, "
        "7. Dezember 2009) ist bestätigt."
    )


def test_no_subject_starts_on_an_empty_folded_line() -> None:
    long_word = "https://capitals.example.org/" + "x" * 60
    for subject in (f"Reminder: {long_word}", "Регистрация подтверждена: " + "Семинар " * 12):
        row = SimpleNamespace(
            recipient="anna.nowak@msz.example",
            subject=subject,
            message_id="<1@capitals.invalid>",
            created_at=datetime(2009, 12, 7, tzinfo=UTC),
            body_text="text",
            body_html=None,
        )
        raw = build_message(row, "Capitals <noreply@localhost>").as_bytes()
        header = raw.split(b"Subject:", 1)[1]
        assert header.startswith(b" ") and not header.startswith(b" \n"), header[:40]
        assert not raw.split(b"Subject:", 1)[1].startswith(b"\n")


def test_a_date_zone_is_the_capitals() -> None:
    moment = datetime(2010, 6, 1, 7, 0, tzinfo=UTC).astimezone(ZoneInfo("Europe/Moscow"))
    with i18n.speaking("ru"):
        assert i18n.time(moment) == "11:00"
        assert "Москва" in i18n.zone(moment)
