"""An organiser's task in a real browser (issue 10): a two-day training from an earlier
edition, a room clash seen beside the session, fixed, published; every staff page passes
axe-core and fits 390 px and 1280 px without scrolling sideways."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest

from capitals.embedded import free_port
from tests.browser import accessibility_violations, browser_page, sign_in_with_token
from tests.scheduling_support import add_session, create_training, scheduling_system
from tests.servers import serve_app
from tests.support import System

PORT = free_port()
PUBLIC = f"http://127.0.0.1:{PORT}"


@pytest.fixture(scope="module")
async def system(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[System]:
    async with scheduling_system(
        tmp_path_factory.mktemp("staff-browser"), SCHEDULING_PUBLIC_URL=PUBLIC
    ) as running:
        yield running


async def no_sideways_scroll(tab: object) -> bool:
    return bool(
        await tab.evaluate(  # type: ignore[attr-defined]
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


async def test_an_organiser_builds_a_new_edition_fixes_a_clash_and_publishes(
    system: System,
) -> None:
    organiser = system.token("organiser", ["EE", "DE"])
    earlier_day = date(2030, 5, 6)
    earlier = await create_training(
        system, organiser, series="staff-browser", title="Consular training 2030",
        starts_on=earlier_day, ends_on=str(earlier_day + timedelta(days=1)),
    )  # fmt: skip
    day2 = str(earlier_day + timedelta(days=1))
    await add_session(system, organiser, earlier, title="Opening", start="09:00", end="10:30")
    await add_session(
        system, organiser, earlier, title="Closing", starts_at=f"{day2}T15:00:00",
        ends_at=f"{day2}T16:00:00", room="Hall B",
    )  # fmt: skip
    new_day = date(2031, 6, 2)
    token = organiser["Authorization"].removeprefix("Bearer ")
    pages: list[str] = []

    async with (
        serve_app(system.apps["scheduling"], PORT, lifespan="off") as url,
        browser_page(viewport={"width": 1280, "height": 900}) as tab,
    ):
        began = time.perf_counter()
        await tab.goto(f"{url}/staff/")
        await tab.wait_for_url("**/staff/sign-in")
        # API users and tests sign in with a pasted token; staff use a mailed link.
        await sign_in_with_token(tab, url, "/staff/", token)
        await tab.get_by_role("link", name="New edition from Consular training 2030").click()
        await tab.wait_for_url("**/staff/trainings/new?earlier=*")
        pages.append(tab.url)
        await tab.get_by_label("Series").fill("staff-browser")
        await tab.get_by_label("Host country").select_option("DE")
        await tab.get_by_label("Title (required)").fill("Consular training 2031")
        await tab.get_by_label("Venue (required)").fill("Auswärtiges Amt")
        await tab.get_by_label("First day (required)").fill(new_day.isoformat())
        await tab.get_by_label("Last day (required)").fill(str(new_day + timedelta(days=1)))
        await tab.get_by_role("button", name="Create draft").click()
        await tab.wait_for_url(f"{url}/staff/trainings/*")
        training_url = tab.url
        pages.append(training_url)
        assert "Europe/Berlin" in await tab.locator("main > p").first.inner_text()
        assert await tab.locator("article", has_text="Opening").count() == 1
        assert await tab.locator("article", has_text="Closing").count() == 1

        added = tab.locator("#new-session")
        await added.get_by_label("Title").fill("Coffee with the consuls")
        await added.get_by_label("Day").select_option(new_day.isoformat())
        await added.get_by_label("Starts").fill("10:00")
        await added.get_by_label("Ends").fill("10:45")
        await added.get_by_label("Room").fill("Hall A")
        await added.get_by_role("button", name="Add session").click()
        await tab.wait_for_url(f"{training_url}#session-*")
        coffee = tab.locator("article").filter(
            has=tab.locator("summary", has_text="Coffee with the consuls")
        )
        # Back at the session just added, scrolled to it, the clash named beside it with
        # a way to the other session.
        assert tab.url.endswith("#" + str(await coffee.get_attribute("id")))
        await coffee.locator(".clash").first.wait_for()
        assert await coffee.locator(".clash").first.is_visible()
        assert await coffee.evaluate(
            "e => { const r = e.getBoundingClientRect();"
            " return r.top < innerHeight && r.bottom > 0 }"
        ), "the page is scrolled to the session just added"
        assert "room 'Hall A' is booked twice" in await coffee.locator(".clash").first.inner_text()
        assert await coffee.locator(".clash").get_by_role("link", name="Go to ").count() >= 1

        await coffee.locator("summary").click()
        await coffee.get_by_label("Room").fill("Garden room")
        await coffee.get_by_role("button", name="Save session").click()
        await tab.wait_for_url("**#session-*")
        assert await tab.locator(".clash").count() == 0

        await tab.get_by_role("link", name="Publish…").click()
        pages.append(tab.url)
        await tab.get_by_label("Yes, publish this training").check()
        await tab.get_by_role("button", name="Publish").click()
        await tab.wait_for_url(f"{url}/staff/")
        scheduled = tab.locator("section[aria-labelledby=state-published]")
        title = scheduled.get_by_role("link", name="Consular training 2031", exact=True)
        assert await title.count() == 1
        took = time.perf_counter() - began
        print(f"\nPlaywright: organiser's new edition, clash fixed, published in {took:.1f} s")

        training_id = training_url.rsplit("/", 1)[-1]
        made = await system.scheduling.get(f"/trainings/{training_id}", headers=organiser)
        starts = sorted(s["starts_at"] for s in made.json()["sessions"])
        # Same wall-clock times in Berlin's zone, day offsets kept.
        assert starts == [
            f"{new_day}T09:00:00+02:00",
            f"{new_day}T10:00:00+02:00",
            f"{new_day + timedelta(days=1)}T15:00:00+02:00",
        ]
        pages += [f"{url}/staff/", f"{training_url}/cancel"]
        for width in (390, 1280):
            await tab.set_viewport_size({"width": width, "height": 844})
            for page in pages:
                await tab.goto(page)
                assert await no_sideways_scroll(tab), (width, page)
                assert await accessibility_violations(tab) == [], page
