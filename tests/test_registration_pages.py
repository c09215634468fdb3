"""Participants' pages: catalogue, form with inline errors (CSRF), confirmation, manage page;
and the whole path in a real browser against the service served by uvicorn."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser import browser_page, csrf_of
from tests.registration_support import (
    fill_registration_form,
    in_catalogue,
    offered,
    open_training,
    publish,
    served_registration,
    training_event,
)
from tests.support import System, eventually, staff_headers

pytestmark = pytest.mark.services("registration")


def _form(**changes: str) -> dict[str, str]:
    return {
        "name": "Liis Kask",
        "email": "liis.kask@mfa.ee",
        "organisation": "Embassy of Estonia in Riga",
        "position": "Second Secretary",
        "country": "EE",
        "consent": "yes",
        "needs_diet": "vegetarian",
        **changes,
    }


async def _post_form(system: System, path: str, form: dict[str, str]) -> Any:
    page = await system.registration.get(path)
    return await system.registration.post(path, data={**form, "_csrf_token": csrf_of(page.text)})


async def _submitted(system: System, **changes: str) -> tuple[Any, Any]:
    """A training open for registration, and the answer to its form sent with `changes`."""
    training = await open_training(system.nats.url, system.registration)
    return training, await _post_form(system, f"/register/{training.id}", _form(**changes))


async def _registrations(system: System, training_id: str) -> list[dict[str, Any]]:
    """The training's registrations as its organisers see them."""
    listed = await system.registration.get(
        f"/trainings/{training_id}/registrations", headers=staff_headers()
    )
    assert listed.status_code == 200, listed.text
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


async def test_catalogue_page_lists_open_trainings_with_seats_left(system: System) -> None:
    training = await open_training(
        system.nats.url, system.registration, capacity=12, title="Consular work, Vilnius"
    )
    page = await system.registration.get("/")
    assert page.status_code == 200
    assert "Consular work, Vilnius" in page.text
    assert "12 of 12 seats left" in page.text
    assert f'href="/register/{training.id}"' in page.text
    assert '<meta name="viewport"' in page.text
    assert "https://" not in page.text  # nothing from a CDN


async def test_form_shows_each_error_beside_its_field_and_keeps_the_input(
    system: System,
) -> None:
    training, response = await _submitted(system, name="", email="liis@", country="XX", consent="")

    assert response.status_code == 422
    page = response.text
    for field in ("name", "email", "country", "consent"):
        assert f'id="{field}-error"' in page, field
        assert re.search(rf'aria-describedby="[^"]*{field}-error"', page), field
    assert 'id="organisation-error"' not in page
    assert 'value="Embassy of Estonia in Riga"' in page  # kept
    assert "vegetarian" in page
    assert await _registrations(system, training.id) == []


async def test_the_form_refuses_header_syntax_in_the_address_and_control_characters(
    system: System,
) -> None:
    training, response = await _submitted(
        system,
        email="=?utf-8?q?injected=40evil.example=2c_x?=@example.org",
        name="Liis\u202eKask",
        organisation="Embassy\x00",
        needs_diet="vegetarian\r\nno nuts\x1b",
    )

    assert response.status_code == 422
    for field in ("email", "name", "organisation", "needs_diet"):
        assert f'id="{field}-error"' in response.text, field
    resend = await _post_form(
        system, "/resend-link", {"email": "a@example.org\r\nBcc: evil@evil.example"}
    )
    assert resend.status_code == 422
    assert await _registrations(system, training.id) == []


async def test_line_breaks_a_browser_sends_in_free_text_are_kept_as_line_feeds(
    system: System,
) -> None:
    training, response = await _submitted(system, needs_access="wheelchair\r\nramp, please")
    assert response.status_code == 200, response.text
    (item,) = await _registrations(system, training.id)
    assert item["needs"]["access"] == "wheelchair\nramp, please"


async def test_a_form_without_its_csrf_token_is_refused(system: System) -> None:
    training = await open_training(system.nats.url, system.registration)
    await system.registration.get(f"/register/{training.id}")
    refused = await system.registration.post(f"/register/{training.id}", data=_form())
    assert refused.status_code == 403
    assert await _registrations(system, training.id) == []


async def test_form_registration_confirms_and_the_manage_page_cancels(system: System) -> None:
    training = await open_training(system.nats.url, system.registration, capacity=1)
    path = f"/register/{training.id}"

    confirmed = await _post_form(system, path, _form())
    assert confirmed.status_code == 200, confirmed.text
    assert "You are registered" in confirmed.text
    manage = re.search(r'id="manage-link" href="[^"]*(/manage/[^"]+)"', confirmed.text)
    assert manage is not None

    duplicate = await _post_form(system, path, _form())
    assert duplicate.status_code == 409
    assert 'id="email-error"' in duplicate.text and "already registered" in duplicate.text
    error = re.search(r'<p id="email-error" class="error">([^<]*)</p>', duplicate.text)
    assert error is not None and "we have sent your links" in error.group(1)
    assert "liis.kask" not in error.group(1)

    waiting = await _post_form(system, path, _form(email="peeter@mfa.ee", name="Peeter"))
    assert "waiting list" in waiting.text and 'id="position">1<' in waiting.text

    page = await system.registration.get(manage.group(1))
    assert page.status_code == 200
    assert "Liis Kask" in page.text and "/calendars/" in page.text
    cancelled = await system.registration.post(
        f"{manage.group(1)}/cancel",
        data={"_csrf_token": csrf_of(page.text), "confirm": "yes"},
        follow_redirects=False,
    )
    assert cancelled.status_code == 303
    after = await system.registration.get(cancelled.headers["location"])
    assert "Cancelled" in after.text and 'id="cancel"' not in after.text
    entry = await in_catalogue(system.registration, training.id)
    assert entry["seats_left"] == 0  # the seat went to Peeter


async def test_an_unknown_manage_link_shows_a_page_to_get_the_links_again(
    system: System,
) -> None:
    page = await system.registration.get("/manage/not-a-real-token")
    assert page.status_code == 404
    assert 'href="/resend-link"' in page.text


async def test_the_link_request_page_answers_the_same_for_any_address(system: System) -> None:
    answers = []
    for email in ("someone@example.org", "nobody@example.org"):
        response = await _post_form(system, "/resend-link", {"email": email})
        assert response.status_code == 200
        answers.append(response.text.replace(email, ""))
    assert answers[0] == answers[1]
    bad = await _post_form(system, "/resend-link", {"email": "not an address"})
    assert bad.status_code == 422 and 'id="email-error"' in bad.text


async def test_a_registration_window_not_open_yet_shows_no_form(system: System) -> None:
    from datetime import UTC, datetime, timedelta

    training = training_event(opens_at=datetime.now(UTC) + timedelta(days=1))
    await publish(system.nats.url, training)
    await in_catalogue(system.registration, training.id)
    page = await system.registration.get(f"/register/{training.id}")
    assert "not open now" in page.text and "<form" not in page.text
    assert (await system.registration.get("/register/unknown")).status_code == 404


@pytest.mark.browser
async def test_a_browser_registers_sees_the_confirmation_and_cancels_on_the_manage_page(
    tmp_path: Path,
) -> None:
    async with served_registration(tmp_path) as served:
        training = await offered(served, capacity=3, title="Trafficking in human beings, Helsinki")

        async with browser_page(viewport={"width": 390, "height": 844}) as tab:

            async def fits_the_phone() -> None:
                # After a form submit the old document may be gone: wait for the new one.
                await tab.wait_for_load_state("load")
                width = await tab.evaluate("document.documentElement.scrollWidth")
                assert width <= 390, f"{tab.url} is {width}px wide"

            await tab.goto(f"{served.url}/")
            await fits_the_phone()
            card = tab.locator(f"#training-{training.id}")
            assert "3 of 3 seats left" in await card.inner_text()
            await card.get_by_role("link", name="Register").click()

            await fits_the_phone()
            await fill_registration_form(
                tab,
                ("Name", "E-mail address", "Organisation", "Country you represent"),
                ("Aino Virtanen", "aino.virtanen@formin.fi", "Ministry for Foreign Affairs", "FI"),
            )
            await tab.get_by_role("button", name="Register").click()
            # Without consent the form comes back with the error beside the box.
            await tab.locator("#consent-error").wait_for()
            assert await tab.get_by_label("Name").input_value() == "Aino Virtanen"
            await tab.get_by_label("I agree").check()
            await tab.get_by_role("button", name="Register").click()

            await tab.get_by_role("heading", name="You are registered").wait_for()
            assert "Confirmed" in await tab.locator("#status").inner_text()
            await fits_the_phone()
            await tab.locator("#manage-link").click()

            await tab.get_by_role("heading", name="Your registration").wait_for()
            assert "Aino Virtanen" in await tab.content()
            await fits_the_phone()
            await tab.get_by_role("link", name="Cancel my registration").click()
            await tab.get_by_role("button", name="Yes, cancel my registration").click()
            await tab.locator("#notice").wait_for()
            assert "Cancelled" in await tab.locator("#status").inner_text()

        async def freed() -> bool:
            async with httpx.AsyncClient(base_url=served.url) as client:
                entry = (await client.get(f"/trainings/{training.id}")).json()
            return bool(entry["seats_left"] == 3)

        await eventually(freed)
