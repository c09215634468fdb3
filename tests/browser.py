"""A real browser for the page tests: Debian's chromium under Playwright, and the forms' CSRF."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

CHROMIUM = "/usr/bin/chromium"
# No sandbox (containers), and nothing that would reach the network on its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


@asynccontextmanager
async def browser_page(**options: Any) -> AsyncIterator[Any]:
    """A new tab in a headless chromium of its own; `options` go to `new_page`."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield await browser.new_page(**options)
        finally:
            await browser.close()


def csrf_of(html: str) -> str:
    """The CSRF token a page's form carries."""
    found = _CSRF.search(html)
    assert found, "the form carries no CSRF token"
    return found.group(1)


SERIOUS = ("serious", "critical")


async def accessibility_violations(
    page: Any, impacts: tuple[str, ...] = SERIOUS
) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now, of the given impacts (all impacts for
    participant pages: pass `impacts=()`), each as `{id, impact, help, nodes}`."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    return [
        {
            "id": violation["id"],
            "impact": violation.get("impact"),
            "help": violation.get("help"),
            "nodes": [node.get("target") for node in violation.get("nodes", [])],
        }
        for violation in results.response["violations"]
        if not impacts or violation.get("impact") in impacts
    ]


async def sign_in_with_token(tab: Any, url: str, path: str, token: str) -> None:
    """Sign in to the service at `url` with a pasted token, as API users may (staff are sent
    to scheduling's sign-in page), and wait to land on `path`."""
    await tab.goto(f"{url}/login?next={path}")
    await tab.get_by_label("Staff token").fill(token)
    await tab.get_by_role("button", name="Sign in").click()
    await tab.wait_for_url(f"**{path}")


SIDEWAYS = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


async def sideways_scroll(tab: Any) -> int:
    """How far the page scrolls sideways, in pixels: 0 or less when it fits its width."""
    return int(await tab.evaluate(SIDEWAYS))
