"""The participant's PDFs in their language: the certificate of attendance and the visa
invitation letter, read back with pypdf, hold no English source phrase, month or country
name, and their Cyrillic comes out of the text layer as written."""

# Cyrillic is what these tests are about.
# ruff: noqa: RUF001

from __future__ import annotations

import io
import re
from datetime import date

import pypdf
import pytest

from services.registration import certificate_pdf, letter_pdf
from services.registration.visa import PassportDetails
from shared import i18n
from tests.document_support import sample_training, session
from tests.test_languages import TRANSLATED, english_left

CYRILLIC = re.compile(r"[\u0400-\u04ff]")
TRAINING = sample_training(
    "LT",
    "Trafficking in human beings",
    "Vilnius",
    "Europe/Vilnius",
    [
        session(
            "Identifying victims",
            "lecture",
            f"2009-09-0{day}T09:00:00+03:00",
            f"2009-09-0{day}T12:30:00+03:00",
        )
        for day in (2, 3)
    ],
)


def text_of(body: bytes) -> str:
    """Every page's text, its lines joined (a sentence may wrap)."""
    pages = pypdf.PdfReader(io.BytesIO(body)).pages
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in pages))


def certificate(language: str) -> str:
    with i18n.speaking(language):
        return text_of(
            certificate_pdf.render(
                number="7KQ2-9XDF-M3HT-Q8WN",
                name="Anna Nowak",
                training=TRAINING,
                days=[date(2009, 9, 2), date(2009, 9, 3)],
                verification_url="https://example.org/certificates/7KQ2-9XDF-M3HT-Q8WN",
            )
        )


def letter(language: str) -> str:
    facts = letter_pdf.LetterFacts(
        ministry="Ministry of Foreign Affairs of the Republic of Lithuania",
        signatory_name="Rūta Kazlauskienė",
        signatory_title="Director, Consular Department",
        training_title=TRAINING.title,
        city=TRAINING.city,
        starts_on=TRAINING.starts_on,
        ends_on=TRAINING.ends_on,
        organisation="Ministry of Foreign Affairs of Poland",
        issued_on=date(2009, 8, 3),
    )
    passport = PassportDetails("ANNA NOWAK", "PL", "EA1234567", date(1984, 3, 9))
    return text_of(letter_pdf.invitation_letter(facts, passport, language))


def written(language: str, message: str, **variables: str) -> str:
    with i18n.speaking(language):
        return i18n.gettext(message, **variables)


def spaced(text: str) -> str:
    """`text` with its spaces as text_of gives them (a narrow no-break space is a space)."""
    return re.sub(r"\s+", " ", text)


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_certificate_of_attendance_is_written_in_the_holders_language(language: str) -> None:
    text = certificate(language)
    assert english_left(text) == [], language
    with i18n.speaking(language):
        assert spaced(i18n.dates(TRAINING.starts_on, TRAINING.ends_on)) in text
        assert i18n.country_name("LT", "Lithuania") in text
    assert written(language, "Certificate of attendance") in text
    assert "Anna Nowak" in text and "7KQ2-9XDF-M3HT-Q8WN" in text


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_visa_letter_is_written_in_the_trainings_language(language: str) -> None:
    text = letter(language)
    assert english_left(text) == [], language
    with i18n.speaking(language):
        assert spaced(i18n.date(date(1984, 3, 9))) in text  # the date of birth
        assert i18n.country_name("PL", "Poland") in text  # the nationality
    assert written(language, "Letter of invitation for a visa application") in text
    assert "ANNA NOWAK" in text and "EA1234567" in text


def test_russian_documents_give_their_cyrillic_back_as_text() -> None:
    for text in (certificate("ru"), letter("ru")):
        assert "Литва" in text or "Польша" in text, text[:200]
        # Beyond the names of places, the sentences themselves are Russian.
        words = [word for word in text.split() if CYRILLIC.search(word)]
        assert len(words) >= 12, words
    assert "сентября 2009" in certificate("ru")
    assert "марта 1984" in letter("ru")


def test_german_documents_read_as_german() -> None:
    assert "2.–3. September 2009" in certificate("de")
    assert "Litauen" in certificate("de")
    assert "9. März 1984" in letter("de") and "Polen" in letter("de")
