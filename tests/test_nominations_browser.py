"""A national focal point nominates two people in a real browser, and one of them confirms
from the link mailed to them (through a real SMTP server); every page passes axe-core."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.browser import accessibility_violations, browser_page
from tests.registration_support import in_catalogue, publish, served_registration, training_event
from tests.support import SmtpSink, eventually, staff_headers

pytestmark = pytest.mark.browser


async def mailed_url(sink: SmtpSink, address: str, path: str) -> str:
    """The first link to `path` in the mails to `address`."""
    pattern = re.compile(rf"https?://\S+{path}/[A-Za-z0-9_-]{{20,}}")

    async def arrived() -> str:
        for _, text in sink.to(address):
            found = pattern.search(text)
            if found:
                return found.group(0)
        raise AssertionError(f"no {path} link to {address} yet: {sink.to(address)}")

    return await eventually(arrived, timeout=15)


async def test_a_focal_point_nominates_two_people_and_one_confirms_in_the_browser(
    tmp_path: Path,
) -> None:
    with SmtpSink() as sink:
        async with served_registration(tmp_path, SMTP_URL=sink.url) as served:
            training = training_event(
                capacity=10, title="Trafficking in human beings, Riga", by_nomination=True
            )
            await publish(served.nats_url, training)
            async with httpx.AsyncClient(base_url=served.url) as client:
                await in_catalogue(client, training.id)
                quotas = await client.put(
                    f"/trainings/{training.id}/quotas", json={"LV": 1}, headers=staff_headers()
                )
                assert quotas.status_code == 200, quotas.text
                named = await client.post(
                    f"/trainings/{training.id}/focal-points",
                    json={"country": "LV", "name": "Ilze Bērziņa", "email": "ilze@mfa.gov.lv"},
                    headers=staff_headers(),
                )
                assert named.status_code == 201, named.text
            nominate_url = await mailed_url(sink, "ilze@mfa.gov.lv", "/nominate")

            async with browser_page() as tab:
                await tab.goto(nominate_url)
                await tab.get_by_role("heading", name="Nominations of Latvia").wait_for()
                assert await accessibility_violations(tab, impacts=()) == []
                for name, email in (
                    ("Jānis Ozols", "janis.ozols@mfa.gov.lv"),
                    ("Anna Liepa", "anna.liepa@mfa.gov.lv"),
                ):
                    await tab.get_by_label("Name").fill(name)
                    await tab.get_by_label("E-mail address").fill(email)
                    await tab.get_by_label("Organisation").fill("Ministry of Foreign Affairs")
                    await tab.get_by_role("button", name="Nominate").click()
                    await tab.locator("#notice").wait_for()
                rows = tab.locator("#nominations tbody tr")
                assert await rows.count() == 2
                assert "Place offered" in await rows.nth(0).inner_text()
                assert "Waiting for a place" in await rows.nth(1).inner_text()
                assert await accessibility_violations(tab, impacts=()) == []

                nominee_url = await mailed_url(sink, "janis.ozols@mfa.gov.lv", "/nominee")
                await tab.goto(nominee_url)
                await tab.get_by_role("heading", name="Your nomination").wait_for()
                assert await accessibility_violations(tab, impacts=()) == []
                await tab.get_by_label("Position").fill("Second Secretary")
                await tab.get_by_role("button", name="Confirm my place").click()
                # Without consent the page comes back with the error beside the box.
                await tab.locator("#consent-error").wait_for()
                assert await accessibility_violations(tab, impacts=()) == []
                await tab.get_by_label("I agree").check()
                await tab.get_by_role("button", name="Confirm my place").click()
                await tab.get_by_role("heading", name="You are registered").wait_for()
                assert "Confirmed" in await tab.locator("#status").inner_text()

                await tab.goto(nominee_url)
                assert "You have confirmed" in await tab.locator("#state").inner_text()
                assert await accessibility_violations(tab, impacts=()) == []
                await tab.goto(nominate_url)
                assert "Confirmed by the nominee" in await rows.nth(0).inner_text()
                assert "Waiting for a place" in await rows.nth(1).inner_text()

                waiting_url = await mailed_url(sink, "anna.liepa@mfa.gov.lv", "/nominee")
                await tab.goto(waiting_url)
                assert "waiting for a place" in await tab.locator("#state").inner_text()
                assert await tab.get_by_role("button", name="Confirm my place").count() == 0
                assert await accessibility_violations(tab, impacts=()) == []
            (subject, text), *_ = sink.to("janis.ozols@mfa.gov.lv")
            assert subject.startswith("You are nominated") and nominee_url in text
            assert any(
                s.startswith("Registration confirmed") for s, _ in sink.to("janis.ozols@mfa.gov.lv")
            )
