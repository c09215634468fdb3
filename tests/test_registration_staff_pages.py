"""Registration's staff pages: the trainings a person manages, a training's registrations
(decisions with a message, quotas, walk-ins, a message to all) and check-in at the door; in
a real browser on a phone and a desktop, with axe-core."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser import (
    accessibility_violations,
    browser_page,
    csrf_of,
    sideways_scroll,
    sign_in_with_token,
)
from tests.registration_support import decide_on_page, open_training, person, register
from tests.servers import served_alone
from tests.support import SmtpSink, System, eventually, running_system

pytestmark = pytest.mark.services("registration")
HTML = {"Accept": "text/html"}


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


async def test_staff_pages_send_strangers_to_sign_in(system: System) -> None:
    home = await system.registration.get("/staff/", follow_redirects=False)
    assert home.status_code == 303
    # Scheduling's page, where staff ask for a sign-in link by e-mail.
    sign_in = f"{system.settings.public_url('scheduling')}/staff/sign-in"
    assert home.headers["location"] == sign_in
    training = await open_training(system.nats.url, system.registration)
    page = await system.registration.get(f"/staff/trainings/{training.id}", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == sign_in


async def test_organisers_see_only_their_host_countries_trainings(system: System) -> None:
    training = await open_training(system.nats.url, system.registration, host_country="EE")
    await register(system.registration, training.id, person(1))
    latvian = system.token("organiser", ["LV"])
    estonian = system.token("organiser", ["EE"])

    home = await system.registration.get("/staff/", headers=latvian)
    assert home.status_code == 200 and training.id not in home.text
    for path in (f"/staff/trainings/{training.id}", f"/staff/trainings/{training.id}/check-in"):
        assert (await system.registration.get(path, headers=latvian)).status_code == 403
        assert (await system.registration.get(path, headers=estonian)).status_code == 200
    missing = await system.registration.get("/staff/trainings/no-such-training", headers=estonian)
    assert missing.status_code == 404

    home = await system.registration.get("/staff/", headers=estonian)
    assert f'href="/staff/trainings/{training.id}"' in home.text
    listed = await system.registration.get(f"/staff/trainings/{training.id}", headers=estonian)
    assert "Participant 1" in listed.text
    assert f'href="/trainings/{training.id}/registrations.csv"' in listed.text


async def test_another_countrys_organiser_may_not_act_on_a_registration(system: System) -> None:
    training = await open_training(system.nats.url, system.registration, moderated=True)
    held = await register(system.registration, training.id, person(1))
    latvian = system.token("organiser", ["LV"])
    page = await system.registration.get("/staff/", headers=latvian)
    refused = await system.registration.post(
        f"/staff/registrations/{held['id']}/approve",
        data={"_csrf_token": csrf_of(page.text)},
        headers=latvian,
    )
    assert refused.status_code == 403, refused.text
    missing = await system.registration.post(
        "/staff/registrations/nobody/approve",
        data={"_csrf_token": csrf_of(page.text)},
        headers=latvian,
    )
    assert missing.status_code == 404
    status = await system.registration.get(f"/registrations/{held['id']}", headers=system.token())
    assert status.json()["status"] == "pending"


async def test_a_staff_form_without_its_csrf_token_is_refused(system: System) -> None:
    training = await open_training(system.nats.url, system.registration, moderated=True)
    held = await register(system.registration, training.id, person(1))
    estonian = system.token("organiser", ["EE"])
    await system.registration.get(f"/staff/trainings/{training.id}", headers=estonian)
    refused = await system.registration.post(
        f"/staff/registrations/{held['id']}/approve", data={}, headers=estonian
    )
    assert refused.status_code == 403
    status = await system.registration.get(f"/registrations/{held['id']}", headers=estonian)
    assert status.json()["status"] == "pending"


async def test_search_finds_by_name_organisation_country_and_email(system: System) -> None:
    training = await open_training(system.nats.url, system.registration)
    await register(system.registration, training.id, person(1, country="FI", name="Aino Virta"))
    await register(system.registration, training.id, person(2, organisation="Embassy in Oslo"))
    headers = system.token("organiser", ["EE"])
    path = f"/staff/trainings/{training.id}"
    for q, found in (("aino", "Aino Virta"), ("Oslo", "Participant 2"), ("Finland", "Aino")):
        page = await system.registration.get(path, params={"q": q}, headers=headers)
        assert found in page.text and "1 registration<" in page.text, q
    by_mail = await system.registration.get(path, params={"q": "participant2@"}, headers=headers)
    assert "Participant 2" in by_mail.text and "Aino" not in by_mail.text
    filtered = await system.registration.get(path, params={"country": "FI"}, headers=headers)
    assert "Aino Virta" in filtered.text and "Participant 2" not in filtered.text


async def test_quotas_and_a_walk_in_from_the_training_page(system: System) -> None:
    training = await open_training(system.nats.url, system.registration)
    headers = system.token("organiser", ["EE"])
    path = f"/staff/trainings/{training.id}"
    token = csrf_of((await system.registration.get(path, headers=headers)).text)
    saved = await system.registration.post(
        f"{path}/quotas",
        data={"_csrf_token": token, "quotas": "ee 2\nLV=1"},
        headers=headers,
        follow_redirects=False,
    )
    assert saved.status_code == 303
    quotas = await system.registration.get(f"/trainings/{training.id}/quotas", headers=headers)
    assert quotas.json() == {"EE": 2, "LV": 1}
    walk_in = {
        "_csrf_token": token,
        "name": "Walk In",
        "email": "walk.in@example.org",
        "organisation": "Ministry",
        "country": "EE",
        "consent": "yes",
    }
    added = await system.registration.post(
        f"{path}/walk-in", data=walk_in, headers=headers, follow_redirects=False
    )
    assert added.status_code == 303
    page = await system.registration.get(path, headers=headers)
    assert "Walk In" in page.text


async def test_walk_in_and_quota_errors_show_beside_their_field_on_the_training_page(
    system: System,
) -> None:
    training = await open_training(system.nats.url, system.registration)
    headers = {**HTML, **system.token("organiser", ["EE"])}
    path = f"/staff/trainings/{training.id}"
    token = csrf_of((await system.registration.get(path, headers=headers)).text)
    walk_in = {
        "_csrf_token": token,
        "name": "Walk In",
        "email": "not an address",
        "organisation": "=Ministry",
        "country": "EE",
    }
    refused = await system.registration.post(f"{path}/walk-in", data=walk_in, headers=headers)
    assert refused.status_code == 422
    page = refused.text
    # The training page again, not a separate one: a summary linking each field, the
    # message beside it, and what was typed kept.
    assert f"<h1>{training.title}</h1>" in page and 'id="error-summary"' in page
    assert '<a href="#w-email">This does not look like an e-mail address' in page
    assert 'id="w-email-error"' in page and 'aria-describedby="w-email-error"' in page
    assert '<a href="#w-consent">We can register you only with your consent.' in page
    assert 'value="=Ministry"' in page and 'id="walk-in" open' in page
    assert 'id="w-name-error"' not in page

    taken = {**walk_in, "email": "mari@example.org", "consent": "yes"}
    first = await system.registration.post(
        f"{path}/walk-in", data=taken, headers=headers, follow_redirects=False
    )
    assert first.status_code == 303
    again = await system.registration.post(f"{path}/walk-in", data=taken, headers=headers)
    assert again.status_code == 409 and 'id="error-summary"' in again.text
    assert "already registered" in again.text

    bad = await system.registration.post(
        f"{path}/quotas", data={"_csrf_token": token, "quotas": "EE three"}, headers=headers
    )
    assert bad.status_code == 422
    assert '<a href="#quotas">' in bad.text and 'id="quotas-error"' in bad.text
    assert "EE three</textarea>" in bad.text and 'id="quotas-form" open' in bad.text
    unknown = await system.registration.post(
        f"{path}/quotas", data={"_csrf_token": token, "quotas": "XX 3"}, headers=headers
    )
    assert unknown.status_code == 422 and 'id="quotas-error"' in unknown.text
    quotas = await system.registration.get(f"/trainings/{training.id}/quotas", headers=headers)
    assert quotas.json() == {}
    listed = await system.registration.get(
        f"/trainings/{training.id}/registrations", headers=headers
    )
    assert [r["email"] for r in listed.json()["items"]] == ["mari@example.org"]


async def test_a_message_to_all_confirmed_participants_is_mailed(
    tmp_path: Path, sink: SmtpSink
) -> None:
    async with running_system(tmp_path, services=("registration",), SMTP_URL=sink.url) as system:
        training = await open_training(system.nats.url, system.registration, capacity=2)
        for number in (1, 2, 3):
            await register(system.registration, training.id, person(number))
        headers = system.token("organiser", ["EE"])
        path = f"/staff/trainings/{training.id}"
        token = csrf_of((await system.registration.get(path, headers=headers)).text)
        sent = await system.registration.post(
            f"{path}/message",
            data={"_csrf_token": token, "subject": "Venue", "message": "Room 2, please.\r\nBye"},
            headers=headers,
            follow_redirects=False,
        )
        assert sent.status_code == 303 and "done=messaged" in sent.headers["location"]

        async def delivered() -> bool:
            for number in (1, 2):
                texts = [t for s, t in sink.to(f"participant{number}@example.org") if "Venue" in s]
                assert len(texts) == 1, texts
                assert "Room 2, please.\nBye" in texts[0].replace("\r\n", "\n")
            return True

        await eventually(delivered, timeout=20)
        assert not [s for s, _ in sink.to("participant3@example.org") if "Venue" in s]


async def test_a_decline_with_a_message_says_it_in_the_mail(tmp_path: Path, sink: SmtpSink) -> None:
    async with running_system(tmp_path, services=("registration",), SMTP_URL=sink.url) as system:
        training = await open_training(system.nats.url, system.registration, moderated=True)
        held = await register(system.registration, training.id, person(1))
        headers = system.token("organiser", ["EE"])
        why = "Full of ambassadors."
        await decide_on_page(system.registration, headers, training.id, held["id"], "decline", why)

        async def mailed() -> str:
            texts = [t for s, t in sink.to("participant1@example.org") if "declined" in s]
            assert len(texts) == 1, texts
            return texts[0].replace("\r\n", "\n")

        text = await eventually(mailed, timeout=20)
        assert "could not offer you a seat" in text
        assert "The organisers wrote:\nFull of ambassadors." in text


# --- in a real browser ------------------------------------------------------------------


async def _no_horizontal_scroll(tab: Any) -> None:
    await tab.wait_for_load_state("load")
    width = await sideways_scroll(tab)
    assert width <= 0, f"{tab.url} scrolls sideways by {width}px"


async def _accessible(tab: Any) -> None:
    found = await accessibility_violations(tab)
    assert found == [], found


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[System, str]]:
    async with served_alone(tmp_path, "registration") as served:
        yield served


@pytest.mark.browser
async def test_an_organiser_approves_a_pending_registration(
    served: tuple[System, str],
) -> None:
    system, url = served
    training = await open_training(system.nats.url, system.registration, moderated=True)
    held = await register(system.registration, training.id, person(1, name="Mari Tamm"))
    token = system.token("organiser", ["EE"])["Authorization"].removeprefix("Bearer ")
    async with browser_page(viewport={"width": 1280, "height": 900}) as tab:
        await sign_in_with_token(tab, url, "/staff/", token)
        await _no_horizontal_scroll(tab)
        await _accessible(tab)
        started = time.perf_counter()
        await tab.locator(f"#training-{training.id} td:nth-child(6) a").click()
        await tab.wait_for_url("**?status=pending")
        await _no_horizontal_scroll(tab)
        await _accessible(tab)
        row = tab.locator(f"#r-{held['id']}")
        await row.get_by_text("Approve", exact=True).click()
        await row.get_by_label("Message for the mail (optional)").first.fill("Welcome!")
        await row.get_by_role("button", name="Approve Mari Tamm").click()
        await tab.wait_for_selector("#notice")
        print(f"\ntask: approve a pending registration: {time.perf_counter() - started:.2f} s")
        assert await tab.locator("#count-confirmed").inner_text() == "1"
        assert await tab.locator("#count-pending").inner_text() == "0"
        await _accessible(tab)
    status = await system.registration.get(f"/registrations/{held['id']}", headers=system.token())
    assert status.json()["status"] == "confirmed"


@pytest.mark.browser
async def test_three_people_are_checked_in_on_a_phone_and_one_is_undone(
    served: tuple[System, str],
) -> None:
    system, url = served
    training = await open_training(system.nats.url, system.registration, starts_on=date.today())
    staff = system.token("organiser", ["EE"])
    names = ["Mari Tamm", "Jaan Kask", "Liis Saar", "Peeter Org"]
    countries = ["EE", "FI", "LV", "EE"]
    for number, (name, country) in enumerate(zip(names, countries, strict=True), start=1):
        await register(
            system.registration,
            training.id,
            person(number, name=name, country=country),
            headers=staff,
        )
    token = staff["Authorization"].removeprefix("Bearer ")
    path = f"/staff/trainings/{training.id}/check-in"
    async with browser_page(viewport={"width": 390, "height": 844}) as tab:
        await sign_in_with_token(tab, url, path, token)
        await _no_horizontal_scroll(tab)
        await _accessible(tab)
        # Results as you type (the script is an enhancement of the GET form).
        await tab.get_by_label("Name, organisation or country").press_sequentially("Kask")
        await expect(tab.locator("#people li")).to_have_count(1)
        assert "Jaan Kask" in await tab.locator("#people").inner_text()
        started = time.perf_counter()
        for search, name in (("Mari", "Mari Tamm"), ("Finland", "Jaan Kask"), ("LV", "Liis Saar")):
            await tab.get_by_label("Name, organisation or country").fill(search)
            await tab.get_by_role("button", name="Find").click()
            await tab.wait_for_url(re.compile(r"q="))
            await tab.get_by_role("button", name=f"Check in {name}").click()
            await tab.wait_for_selector("#notice")
        assert await tab.locator("#count-checked-in").inner_text() == "3"
        await tab.get_by_role("button", name="Undo check-in of Liis Saar").click()
        await tab.wait_for_url(re.compile(r"done=undone"))
        print(f"\ntask: check in three people and undo one: {time.perf_counter() - started:.2f} s")
        assert await tab.locator("#count-checked-in").inner_text() == "2"
        await _no_horizontal_scroll(tab)
        await _accessible(tab)
        box = await tab.get_by_role("button", name="Check in Liis Saar").bounding_box()
        assert box is not None and box["height"] >= 44  # a thumb's target
        await tab.goto(f"{url}/staff/trainings/{training.id}")
        await _no_horizontal_scroll(tab)
        await _accessible(tab)
        await tab.goto(f"{url}/staff/")
        await _no_horizontal_scroll(tab)
    listed = await system.registration.get(
        f"/trainings/{training.id}/registrations", params={"checked_in": "true"}, headers=staff
    )
    assert sorted(item["name"] for item in listed.json()["items"]) == ["Jaan Kask", "Mari Tamm"]


def test_status_mails_are_unchanged_without_a_message_and_carry_one_after_their_text() -> None:
    from datetime import date as day

    from services.registration import mails

    facts = mails.MailFacts(
        name="Mari",
        email="m@example.org",
        title="T",
        starts_on=day(2026, 1, 1),
        city="Tallinn",
        manage_url="https://x/m",
        calendar_url="https://x/c",
    )
    for status in ("confirmed", "waitlisted", "pending", "declined", "cancelled"):
        plain = mails.status_mail(facts, status, 1)
        assert mails.status_mail(facts, status, 1, message=None) == plain
        assert mails.status_mail(facts, status, 1, message="") == plain
        said = mails.status_mail(facts, status, 1, message="See you.")
        assert said.text == f"{plain.text}\nThe organisers wrote:\nSee you.\n"
        assert said.subject == plain.subject


@pytest.mark.browser
async def test_a_refused_walk_in_shows_its_errors_beside_the_fields_on_a_phone(
    served: tuple[System, str],
) -> None:
    system, url = served
    training = await open_training(system.nats.url, system.registration)
    token = system.token("organiser", ["EE"])["Authorization"].removeprefix("Bearer ")
    path = f"/staff/trainings/{training.id}"
    async with browser_page(viewport={"width": 390, "height": 844}) as tab:
        await sign_in_with_token(tab, url, path, token)
        await tab.get_by_text("Register a walk-in").click()
        await tab.get_by_label("Name").fill("Walk In")
        await tab.get_by_label("E-mail").fill("walk-in at example")
        await tab.get_by_role("button", name="Register", exact=True).click()
        await tab.wait_for_selector("#error-summary")
        assert tab.url == f"{url}{path}/walk-in"
        await expect(tab.locator("#w-email-error")).to_contain_text("e-mail address")
        await expect(tab.locator("#w-email")).to_have_attribute("aria-invalid", "true")
        await expect(tab.locator("#w-name")).to_have_value("Walk In")
        await tab.locator('#error-summary a[href="#w-consent"]').click()
        await expect(tab.locator("#w-consent")).to_be_focused()
        await _no_horizontal_scroll(tab)
        await _accessible(tab)
