"""Languages in a real browser: a participant registers in German on a phone and gets the
German mail; axe-core finds nothing on the participant pages in any language."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from capitals.embedded import free_port
from tests.browser import accessibility_violations, browser_page
from tests.evaluation_support import completed_training
from tests.registration_support import fill_registration_form, offered, served_registration
from tests.scheduling_support import published_training
from tests.servers import serve_app
from tests.support import SmtpSink, System, eventually
from tests.test_languages import LANGUAGES, english_left
from tests.test_languages_pages import certificate_numbers, nomination_tokens

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
# The registration form's labels in German: name, e-mail address, organisation, country.
GERMAN_FORM = ("Name", "E-Mail-Adresse", "Organisation (Botschaft", "Land, das Sie vertreten")


async def _fits_the_phone(tab: object) -> None:
    await tab.wait_for_load_state("load")  # type: ignore[attr-defined]
    width = await tab.evaluate("document.documentElement.scrollWidth")  # type: ignore[attr-defined]
    assert width <= PHONE["width"], f"{tab.url} is {width}px wide"  # type: ignore[attr-defined]


async def test_a_participant_registers_in_german_on_a_phone_and_gets_the_german_mail(
    tmp_path: Path,
) -> None:
    with SmtpSink() as sink:
        async with served_registration(tmp_path, SMTP_URL=sink.url) as served:
            training = await offered(
                served, capacity=5, title="Menschenhandel erkennen", city="Berlin"
            )

            async with browser_page(viewport=PHONE, locale="de-DE") as tab:
                await tab.goto(f"{served.url}/")
                assert await tab.get_attribute("html", "lang") == "de"
                await _fits_the_phone(tab)
                card = tab.locator(f"#training-{training.id}")
                assert "5 von 5 Plätzen frei" in await card.inner_text()
                await card.get_by_role("link", name="Anmelden").click()

                await _fits_the_phone(tab)
                await fill_registration_form(
                    tab,
                    GERMAN_FORM,
                    ("Jonas Weber", "jonas.weber@auswaertiges-amt.de", "Auswärtiges Amt", "DE"),
                )
                await tab.get_by_role("button", name="Anmelden").click()
                await tab.locator("#consent-error").wait_for()
                assert "Einwilligung" in await tab.locator("#consent-error").inner_text()
                assert await accessibility_violations(tab, impacts=()) == []
                await tab.get_by_label("Ich willige ein").check()
                await tab.get_by_role("button", name="Anmelden").click()

                await tab.get_by_role("heading", name="Sie sind angemeldet").wait_for()
                await _fits_the_phone(tab)
                assert "Bestätigt" in await tab.locator("#status").inner_text()
                await tab.locator("#manage-link").click()
                await tab.get_by_role("heading", name="Ihre Anmeldung").wait_for()
                await _fits_the_phone(tab)

            async def arrived() -> tuple[str, str]:
                (mail,) = sink.to("jonas.weber@auswaertiges-amt.de")
                return mail

            subject, text = await eventually(arrived)
            text = text.replace("\r\n", "\n")
            assert subject == "Anmeldung bestätigt: Menschenhandel erkennen"
            assert text.startswith("Guten Tag Jonas Weber,\n\nIhr Platz bei „Menschenhandel")
            assert english_left(text) == []


async def _no_violations_in_any_language(tab: object, url: str) -> None:
    for language in LANGUAGES:
        await tab.goto(f"{url}?lang={language}")  # type: ignore[attr-defined]
        assert await tab.get_attribute("html", "lang") == language  # type: ignore[attr-defined]
        found = await accessibility_violations(tab, impacts=())
        assert found == [], (url, language, found)


async def test_registration_pages_have_no_accessibility_violations_in_any_language(
    tmp_path: Path,
) -> None:
    async with served_registration(tmp_path) as served:
        training = await offered(served, capacity=2, title="Trafficking in human beings, Riga")
        async with httpx.AsyncClient(base_url=served.url) as client:
            answer = await client.post(
                f"/trainings/{training.id}/registrations",
                json={
                    "name": "Ilze Berzina",
                    "email": "ilze.berzina@mfa.lv",
                    "organisation": "Ministry of Foreign Affairs",
                    "country": "LV",
                    "consent": True,
                    "language": "ru",
                },
            )
            assert answer.status_code == 201, answer.text
        async with browser_page(viewport=PHONE) as tab:
            manage = f"/manage/{answer.json()['manage_token']}"
            for path in (
                "/",
                f"/register/{training.id}",
                "/resend-link",
                manage,
                f"{manage}/cancel",
                f"{manage}/registered",
                "/manage/unknown",
            ):
                await _no_violations_in_any_language(tab, f"{served.url}{path}")


@pytest.mark.services("scheduling")
async def test_public_scheduling_pages_have_no_accessibility_violations_in_any_language(
    system: System,
) -> None:
    ee = system.token("organiser", ["EE"])
    training, _ = await published_training(system, ee, sessions=2, series="axe-series")
    async with (
        serve_app(system.apps["scheduling"], free_port(), lifespan="off") as url,
        browser_page(viewport=PHONE) as tab,
    ):
        for path in (
            "/",
            "/series/axe-series/page",
            f"/trainings/{training['id']}/page",
            "/trainings/no-such-training/page",  # the error page
        ):
            await _no_violations_in_any_language(tab, f"{url}{path}")


@pytest.mark.services("registration")
async def test_certificate_and_nomination_pages_have_no_accessibility_violations(
    system: System,
) -> None:
    numbers = await certificate_numbers(system)
    focal, offered = await nomination_tokens(system)
    async with (
        serve_app(system.apps["registration"], free_port(), lifespan="off") as url,
        browser_page(viewport=PHONE) as tab,
    ):
        for number in numbers.values():
            await _no_violations_in_any_language(tab, f"{url}/certificates/{number}")
        for path in (f"/nominate/{focal}", f"/nominee/{offered}"):
            await _no_violations_in_any_language(tab, f"{url}{path}")


async def test_the_questionnaire_has_no_accessibility_violations_in_any_language(
    evaluation: System,
) -> None:
    _, tokens = await completed_training(evaluation, ["Mari Tamm"])
    async with (
        serve_app(evaluation.apps["evaluation"], free_port(), lifespan="off") as url,
        browser_page(viewport=PHONE) as tab,
    ):
        link = f"{url}/evaluations/{tokens['Mari Tamm']}"
        await _no_violations_in_any_language(tab, link)
        await _no_violations_in_any_language(tab, f"{url}/evaluations/unknown")
