"""Participant pages to WCAG 2.2 AA, in a real browser at a phone's width (390 px): axe-core
finds no violation of any impact on any participant page of the three services; every page
has a skip link; a failed submit puts the focus on the error summary; and the journeys
register → manage → cancel and answering an evaluation work with the keyboard alone
(`page.keyboard` only, no clicks)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from capitals.embedded import free_port
from tests.browser import accessibility_violations, browser_page
from tests.evaluation_support import completed_training
from tests.registration_support import in_catalogue
from tests.scheduling_support import published_training
from tests.servers import serve_app
from tests.support import System, running_system

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}}


async def focus_on(tab: Any, selector: str, limit: int = 120) -> None:
    """Press Tab until the element `selector` names has the focus."""
    for _ in range(limit):
        if await tab.evaluate(
            "s => !!document.activeElement && document.activeElement.matches(s)", selector
        ):
            return
        await tab.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector} on {tab.url}")


async def press(tab: Any, selector: str, *keys: str) -> None:
    """Tab to the element `selector` names and press `keys` there (Enter unless named)."""
    await focus_on(tab, selector)
    for key in keys or ("Enter",):
        await tab.keyboard.press(key)


async def type_in(tab: Any, selector: str, text: str) -> None:
    """Tab to the field `selector` names and type `text` into it."""
    await focus_on(tab, selector)
    await tab.keyboard.type(text)


async def submit_expecting_errors(tab: Any, button: str, error: str) -> None:
    """Submit by keyboard from `button`; the page comes back with `error` shown and the
    focus on the summary of errors."""
    await press(tab, button)
    await tab.wait_for_selector(error)
    assert await focused_id(tab) == "error-summary"


async def focused_id(tab: Any) -> str:
    return str(await tab.evaluate("document.activeElement ? document.activeElement.id : ''"))


class Audit:
    """Checks each page as the browser shows it; collects what fails, to report all at once."""

    def __init__(self, tab: Any) -> None:
        self.tab = tab
        self.problems: list[Any] = []

    async def page(self, name: str) -> None:
        await self.tab.wait_for_load_state("load")
        violations = await accessibility_violations(self.tab, impacts=())
        if violations:
            self.problems.append((name, self.tab.url, violations))
        wide = await self.tab.evaluate(
            "document.documentElement.scrollWidth > document.documentElement.clientWidth"
        )
        if wide:
            self.problems.append((name, self.tab.url, "wider than the phone"))
        skip = self.tab.locator("a.skip-link")
        if await skip.count() != 1 or await skip.get_attribute("href") != "#content":
            self.problems.append((name, self.tab.url, "no skip link to #content"))

    def assert_clean(self) -> None:
        assert self.problems == [], self.problems


async def _served(system: System, ports: dict[str, int]) -> Any:
    from contextlib import AsyncExitStack

    stack = AsyncExitStack()
    for service, port in ports.items():
        await stack.enter_async_context(serve_app(system.apps[service], port, lifespan="off"))
    return stack


async def test_the_registration_journey_by_keyboard_alone_on_accessible_pages(
    tmp_path: Path,
) -> None:
    ports = {service: free_port() for service in ("scheduling", "registration")}
    urls = {service: f"http://127.0.0.1:{port}" for service, port in ports.items()}
    async with running_system(
        tmp_path,
        services=("scheduling", "registration"),
        SCHEDULING_PUBLIC_URL=urls["scheduling"],
        REGISTRATION_PUBLIC_URL=urls["registration"],
    ) as system:
        training, _ = await published_training(
            system, system.token(), sessions=2, series="a11y-series", starts_on="2031-06-16"
        )
        await in_catalogue(system.registration, training["id"])
        async with await _served(system, ports), browser_page(**PHONE) as tab:
            audit = Audit(tab)
            for path in ("/", "/series/a11y-series/page", f"/trainings/{training['id']}/page"):
                await tab.goto(f"{urls['scheduling']}{path}")
                await audit.page(f"scheduling {path}")

            await tab.goto(f"{urls['registration']}/resend-link")
            await audit.page("resend")
            await submit_expecting_errors(tab, "form.card button[type=submit]", "#email-error")
            await audit.page("resend with an error")
            await tab.goto(f"{urls['registration']}/manage/not-a-token")
            await audit.page("message")

            await tab.goto(f"{urls['registration']}/")
            await audit.page("catalogue")
            # The first Tab reaches the skip link, which takes the focus to the content.
            await tab.keyboard.press("Tab")
            assert await focused_id(tab) == "" and "Skip to content" in await tab.evaluate(
                "document.activeElement.textContent"
            )
            await tab.keyboard.press("Enter")
            assert await focused_id(tab) == "content"

            await focus_on(tab, f'a.button[href$="/register/{training["id"]}"]')
            await tab.keyboard.press("Enter")
            await tab.wait_for_url(f"**/register/{training['id']}")
            await audit.page("form")
            await type_in(tab, "#name", "Aino Virtanen")
            await focus_on(tab, "#email")
            # Where the focus is can be seen: a solid ring of 3 px at least.
            ring = await tab.evaluate(
                "(() => { const s = getComputedStyle(document.activeElement);"
                " return [s.outlineStyle, parseFloat(s.outlineWidth)]; })()"
            )
            assert ring[0] == "solid" and ring[1] >= 3, ring
            await tab.keyboard.type("aino.virtanen@formin.fi")
            await type_in(tab, "#organisation", "Ministry for Foreign Affairs")
            await type_in(tab, "#country", "Finland")
            # No consent: the form comes back with the focus on the summary of errors.
            await submit_expecting_errors(tab, "form.card button[type=submit]", "#consent-error")
            await audit.page("form with errors")
            await press(tab, "#consent", "Space")
            await press(tab, "form.card button[type=submit]")
            await tab.wait_for_url("**/registered")
            assert "Confirmed" in await tab.locator("#status").inner_text()
            await audit.page("registered")

            await press(tab, "#manage-link")
            await tab.get_by_role("heading", name="Your registration").wait_for()
            await audit.page("manage")
            await press(tab, "#name", "ControlOrMeta+a", "Backspace")
            await submit_expecting_errors(tab, "#save-details", "#name-error")
            await audit.page("manage with errors")
            await type_in(tab, "#name", "Aino Virtanen-Korhonen")
            await press(tab, "#save-details")
            await tab.wait_for_selector("#notice")
            assert "Aino Virtanen-Korhonen" in await tab.content()

            await press(tab, "#cancel")
            await tab.wait_for_url("**/cancel")
            await audit.page("cancel confirmation")
            await press(tab, "#confirm-cancel")
            await tab.wait_for_selector("#notice")
            assert "Cancelled" in await tab.locator("#status").inner_text()
            await audit.page("manage after cancelling")
            audit.assert_clean()


async def test_an_evaluation_is_answered_by_keyboard_alone_on_accessible_pages(
    tmp_path: Path,
) -> None:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    async with running_system(
        tmp_path, services=("evaluation",), EVALUATION_PUBLIC_URL=public
    ) as system:
        _, tokens = await completed_training(system, ["Mari Tamm"])
        async with (
            serve_app(system.apps["evaluation"], port, lifespan="off"),
            browser_page(**PHONE) as tab,
        ):
            audit = Audit(tab)
            await tab.goto(f"{public}/evaluations/{tokens['Mari Tamm']}")
            await audit.page("questionnaire")

            await submit_expecting_errors(tab, "button[value=submit]", "#error-summary")
            await audit.page("questionnaire with errors")

            # A radio group: Space picks the first point, the arrows move along the scale.
            await press(tab, "input[name=overall]", "Space")
            for _ in range(3):
                await tab.keyboard.press("ArrowRight")
            await press(tab, "input[name=recommend]", "Space")
            for _ in range(9):
                await tab.keyboard.press("ArrowRight")
            await press(tab, "button[value=submit]")
            await tab.wait_for_url("**/thanks")
            await audit.page("thanks")
            audit.assert_clean()
