"""The API reference at /schema works in a real browser under the CSP, with nothing from a CDN."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import browser_page
from tests.registration_support import served_registration


@pytest.mark.browser
async def test_the_api_reference_lists_the_operations_with_nothing_from_elsewhere(
    tmp_path: Path,
) -> None:
    async with served_registration(tmp_path) as served, browser_page() as tab:
        requested: list[str] = []
        problems: list[str] = []
        tab.on("request", lambda request: requested.append(request.url))
        tab.on(
            "console",
            lambda message: (
                problems.append(message.text) if message.type in ("error", "warning") else None
            ),
        )
        tab.on("pageerror", lambda error: problems.append(str(error)))
        await tab.goto(f"{served.url}/schema")
        operations = tab.locator(".opblock-summary-path")
        await operations.first.wait_for(timeout=20_000)
        paths = await operations.all_inner_texts()
        assert any("/trainings/{training_id}/registrations" in p for p in paths), paths
        assert await tab.locator(".opblock").count() >= 10
        await tab.wait_for_load_state("networkidle")
    assert not [p for p in problems if "Content Security Policy" in p], problems
    assert not problems, problems
    off_origin = [url for url in requested if not url.startswith(served.url)]
    assert off_origin == [], off_origin
