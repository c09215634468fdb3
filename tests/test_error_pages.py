"""A browser that reaches an error on a non-API route gets a page in the site's frame; API
clients keep their problem details; every service has its icon."""

from __future__ import annotations

import pytest

from capitals.embedded import free_port
from shared import i18n
from shared.error_pages import _explanation
from tests.browser import accessibility_violations, browser_page
from tests.scheduling_support import create_training
from tests.support import System

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


async def test_a_browser_gets_a_page_for_an_unknown_or_draft_training_and_series(
    system: System,
) -> None:
    ee = system.token("organiser", ["EE"])
    draft = await create_training(system, ee)
    home = system.settings.public_url("scheduling").rstrip("/") + "/"
    for path in (
        "/trainings/no-such-training/page",
        f"/trainings/{draft['id']}/page",
        "/series/no-such-series/page",
        "/no/such/path",
    ):
        response = await system.scheduling.get(path, headers=BROWSER)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html")
        html = response.text
        assert '<html lang="en">' in html and 'name="viewport"' in html
        assert "<title>Page not found · Capitals</title>" in html
        assert "There is no page at this address." in html
        assert f'id="error-home" href="{home}"' in html
        if path != "/no/such/path":  # (an unrouted path's answer skips the app's middleware)
            assert response.headers["cache-control"] == "no-store"


async def test_api_clients_keep_problem_details_on_the_same_routes(system: System) -> None:
    for headers in ({}, {"Accept": "application/json"}, {"Accept": "*/*"}):
        response = await system.scheduling.get("/trainings/nope/page", headers=headers)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 404
    # An API route answers problem details even to a browser.
    api = await system.scheduling.get("/trainings/nope", headers=BROWSER)
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"


async def test_every_service_answers_browsers_with_an_error_page_and_serves_its_icon(
    system: System,
) -> None:
    scheduling_home = system.settings.public_url("scheduling").rstrip("/") + "/"
    for name, client in system.clients.items():
        missing = await client.get("/no-such-page", headers=BROWSER)
        assert missing.status_code == 404 and "Page not found" in missing.text, name
        own = system.settings.public_url(name).rstrip("/") + "/"
        expected_home = scheduling_home if name == "evaluation" else own
        assert f'href="{expected_home}"' in missing.text, name
        assert 'href="/favicon.svg"' in missing.text
        ico = await client.get("/favicon.ico")
        assert ico.status_code == 200 and ico.headers["content-type"] == "image/x-icon"
        assert ico.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
        svg = await client.get("/favicon.svg")
        assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
        assert "max-age=86400" in svg.headers["cache-control"]


def test_each_error_page_explains_its_status_in_marked_text() -> None:
    seen = set()
    with i18n.speaking("en"):
        for status in (404, 409, 410, 422, 500, 503):
            title, sentence = _explanation(status)
            assert title and sentence.endswith(".")
            seen.add(title)
    assert len(seen) == 5  # 500 and 503 share one


@pytest.mark.browser
async def test_error_pages_have_no_accessibility_violations(system: System) -> None:
    ee = system.token("organiser", ["EE"])
    draft = await create_training(system, ee)
    port = free_port()
    from tests.servers import serve_app

    async with (
        serve_app(system.apps["scheduling"], port, lifespan="off") as url,
        browser_page() as tab,
    ):
        for path in (f"/trainings/{draft['id']}/page", "/series/no-such-series/page"):
            answer = await tab.goto(f"{url}{path}")
            assert answer is not None and answer.status == 404
            assert await tab.locator("h1").inner_text() == "Page not found"
            assert await accessibility_violations(tab, impacts=()) == []
        # The browser fetches the linked icon.
        icon = await tab.request.get(f"{url}/favicon.ico")
        assert icon.ok
