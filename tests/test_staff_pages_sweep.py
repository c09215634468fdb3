"""Every staff page of the three services, served for real and filled as `capitals demo` fills
them, visited by the secretariat and by an organiser at 390 px and 1280 px: each answers 200,
never scrolls sideways, and axe-core finds no serious or critical violation on it.

The pages are found from the apps' own routes (every GET under /staff/ and /reports), so a
page added later without a place in this sweep fails it."""

from __future__ import annotations

import asyncio
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from capitals.demo import PEOPLE, SERIES, SERIES_TITLE, Demo, Edition
from services.scheduling import sign_in as accounts
from shared.commands import execute
from shared.settings import Settings
from tests.browser import accessibility_violations, browser_page, sideways_scroll
from tests.servers import serve_all

WIDTHS = (390, 1280)
ORGANISER_COUNTRY = "EE"
# Staff pages an organiser is refused (403); everything else they see for their country.
SECRETARIAT_ONLY = {
    ("scheduling", "/staff/people"),
    ("scheduling", "/staff/audit"),
    ("registration", "/staff/audit"),
    ("registration", "/staff/statistics"),
    ("evaluation", "/staff/audit"),
    ("evaluation", "/staff/questions"),
    ("evaluation", "/reports/{training_id:str}/reminders"),
    ("evaluation", "/reports/series/{series:str}"),
}
# Served under /staff/ but not a page: only its answer is checked.
NOT_PAGES = {("registration", "/staff/check-in.js"), ("registration", "/staff/badge-scan.js")}


@dataclass
class Filled:
    """The trainings the sweep's pages are about."""

    completed: dict[str, Any]  # two days, attended, evaluated
    open: dict[str, Any]  # moderated and full: confirmed, pending and waitlisted
    draft: dict[str, Any]  # a room clash not yet resolved
    certified: str  # a registration of the completed training with its certificate


def fill(settings: Settings) -> Filled:
    """The demo's loader, on a smaller series (blocking: run it in a thread)."""
    demo = Demo(settings)
    demo.call("PUT", "scheduling", f"/series/{SERIES}", json={"title": SERIES_TITLE})
    today = date.today()
    edition = Edition(
        ORGANISER_COUNTRY,
        "Training for diplomatic and consular staff, Tallinn",
        today - timedelta(days=40),
        2,
        "Ministry of Foreign Affairs, Islandi väljak 1, Tallinn",
        "completed",
        exhibition=True,
    )
    completed = demo.create(edition)
    demo.set_objectives(completed)
    registered = demo.register(completed, 8)
    attended = [r for r in registered if r["status"] == "confirmed"][:6]
    demo.check_in(edition, attended)
    demo.call("POST", "scheduling", f"/trainings/{completed['id']}/complete")
    assert demo.answer_evaluations(completed, {r["email"] for r in attended}) > 0

    host = demo.organiser(ORGANISER_COUNTRY)
    starts = today + timedelta(days=30)
    body = {
        "series": SERIES,
        "title": "Training for diplomatic and consular staff, Tartu",
        "host_country": ORGANISER_COUNTRY,
        "city": "Tartu",
        "venue": "University of Tartu, Ülikooli 18",
        "starts_on": starts.isoformat(),
        "ends_on": (starts + timedelta(days=1)).isoformat(),
        "capacity": 3,
        "moderated": True,
    }
    opened = demo.call("POST", "scheduling", "/trainings", as_=host, json=body)
    for day in (starts, starts + timedelta(days=1)):
        session = {
            "title": "Identifying victims at the consular counter",
            "kind": "workshop",
            "starts_at": f"{day}T09:00:00",
            "ends_at": f"{day}T12:00:00",
            "room": "Room 2",
            "speakers": [{"name": "Lars Nord", "organisation": "Swedish Police"}],
        }
        demo.call(
            "POST", "scheduling", f"/trainings/{opened['id']}/sessions", as_=host, json=session
        )
    demo.call("POST", "scheduling", f"/trainings/{opened['id']}/publish", as_=host)
    demo.wait_for(
        "registration to list the open training",
        lambda: (
            demo.http.get(demo.url("registration", f"/trainings/{opened['id']}")).status_code == 200
        ),
    )
    demo.call("PUT", "registration", f"/trainings/{opened['id']}/quotas", json={"DE": 1})
    pending = [
        participant_registers(demo, opened, name, country)
        for country, name in PEOPLE[:6] + PEOPLE[8:9]
    ]
    for registration in pending[:4]:  # three seats: the fourth approved waits
        demo.call("POST", "registration", f"/registrations/{registration['id']}/approve")
    demo.call("POST", "registration", f"/registrations/{pending[4]['id']}/decline")

    body = {**body, "title": "Regional conference, Pärnu", "city": "Pärnu", "moderated": False}
    body["starts_on"] = body["ends_on"] = (starts + timedelta(days=60)).isoformat()
    draft = demo.call("POST", "scheduling", "/trainings", as_=host, json=body)
    for title in ("Opening and welcome", "Panel: embassies, police and NGOs working together"):
        session = {
            "title": title,
            "kind": "panel",
            "starts_at": f"{body['starts_on']}T10:00:00",
            "ends_at": f"{body['starts_on']}T11:00:00",
            "room": "Plenary hall",
        }
        demo.call(
            "POST", "scheduling", f"/trainings/{draft['id']}/sessions", as_=host, json=session
        )
    return Filled(completed=completed, open=opened, draft=draft, certified=attended[0]["id"])


def participant_registers(demo: Demo, training: dict[str, Any], name: str, country: str) -> Any:
    """As a participant does, without a staff token (staff register walk-ins, never pending)."""
    body = {
        "name": name,
        "email": f"{name.split()[0].lower()}.{country.lower()}@example.org",
        "organisation": f"Ministry of Foreign Affairs ({country})",
        "country": country,
        "consent": True,
    }
    path = f"/trainings/{training['id']}/registrations"
    answer = demo.http.post(demo.url("registration", path), json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def pages_of(service: str, route: str, filled: Filled) -> list[str]:
    """The addresses that show `route` (a GET route's path template) with the sweep's data."""
    done, opened, draft = filled.completed["id"], filled.open["id"], filled.draft["id"]
    if "{" not in route:
        extra = {
            "/staff/statistics": [f"/staff/statistics?year={date.today().year}"],
            "/reports": [f"/reports?series={SERIES}&country={ORGANISER_COUNTRY}"],
            "/staff/audit": ["/staff/audit?action=registration."],
        }
        return [route.rstrip("/") + "/" if route == "/staff" else route, *extra.get(route, [])]
    steps = {
        "/staff/trainings/{training_id:str}/{action:str}": [
            f"/staff/trainings/{draft}/publish",
            f"/staff/trainings/{draft}/cancel",
            f"/staff/trainings/{opened}/complete",
            f"/staff/trainings/{opened}/cancel",
        ]
    }
    if route in steps:
        return steps[route]
    if route == "/reports/series/{series:str}":
        return [f"/reports/series/{SERIES}"]
    if route == "/staff/registrations/{registration_id:str}/certificate":
        return [route.replace("{registration_id:str}", filled.certified)]
    trainings = {
        "scheduling": [done, opened, draft],
        "registration": [done, opened],
        "evaluation": [done, opened],
    }[service]
    if route == "/reports/{training_id:str}/reminders":
        trainings = [done]
    addresses = [route.replace("{training_id:str}", t) for t in trainings]
    if (service, route) == ("registration", "/staff/trainings/{training_id:str}"):
        base = f"/staff/trainings/{opened}"
        addresses += [f"{base}?status=pending", f"{base}?status=waitlisted", f"{base}?q=ministry"]
    assert all("{" not in a for a in addresses), (service, route, addresses)
    return addresses


def staff_routes(apps: dict[str, Any]) -> list[tuple[str, str]]:
    """(service, path template) of every GET route under /staff/ and /reports."""
    found = []
    for service, app in apps.items():
        for route in app.routes:
            if "GET" not in getattr(route, "methods", ()):
                continue
            if route.path == "/staff" or route.path.startswith(("/staff/", "/reports")):
                found.append((service, route.path))
    return sorted(set(found))


async def sign_in(context: Any, db: Any, settings: Settings, who: accounts.Enrolment) -> Any:
    """A tab of `context` signed in from a link `capitals sign-in-link` would print."""
    tab = await context.new_page()
    await tab.goto(await execute(db, accounts.enrol, settings, None, who))
    await tab.get_by_role("button", name="Sign in").click()
    await tab.wait_for_url("**/staff/")
    return tab


async def sweep(
    who: str, tab: Any, pages: list[tuple[str, str, str]], urls: dict[str, str], problems: list[str]
) -> int:
    """Visit `pages` as `who`, once loaded and then at each width; note what is wrong in
    `problems`. Returns the number of (page, width) checked."""
    checked = 0
    for service, route, address in pages:
        url = urls[service] + address
        if who == "organiser" and (service, route) in SECRETARIAT_ONLY:
            refused = await tab.request.get(url, max_redirects=0)
            if refused.status != 403:
                problems.append(f"{who} {url}: {refused.status}, not 403")
            continue
        if (service, route) in NOT_PAGES:
            answer = await tab.request.get(url)
            if answer.status != 200:
                problems.append(f"{who} {url}: {answer.status}")
            continue
        await tab.set_viewport_size({"width": WIDTHS[0], "height": 900})
        answer = await tab.goto(url)
        if answer is None or answer.status != 200:
            problems.append(f"{who} {url}: {None if answer is None else answer.status}")
            continue
        for width in WIDTHS:
            await tab.set_viewport_size({"width": width, "height": 900})
            checked += 1
            sideways = await sideways_scroll(tab)
            if sideways > 0:
                problems.append(f"{who} {url}: scrolls sideways by {sideways}px at {width}px")
            for violation in await accessibility_violations(tab):
                problems.append(f"{who} {url} at {width}px: {violation}")
    return checked


@pytest.mark.browser
async def test_every_staff_page_answers_fits_a_phone_and_a_desktop_and_passes_axe(
    tmp_path: Path,
) -> None:
    began = time.monotonic()
    async with AsyncExitStack() as stack:
        settings, apps, urls = await serve_all(stack, tmp_path)
        filled = await asyncio.to_thread(fill, settings)
        loaded = time.monotonic()

        routes = staff_routes(apps)
        assert len(routes) >= 15, routes
        pages = [(s, r, a) for s, r in routes for a in pages_of(s, r, filled)]
        scheduling = apps["scheduling"].state.runtime.db
        first = await stack.enter_async_context(browser_page())
        browser = first.context.browser
        boss = accounts.Enrolment(email="boss@example.org", role="secretariat")
        olga = accounts.Enrolment(
            email="olga@example.org", role="organiser", countries=[ORGANISER_COUNTRY]
        )
        tabs = {
            "secretariat": await sign_in(await browser.new_context(), scheduling, settings, boss),
            "organiser": await sign_in(await browser.new_context(), scheduling, settings, olga),
        }
        problems: list[str] = []
        visits = await asyncio.gather(
            *(sweep(who, tab, pages, urls, problems) for who, tab in tabs.items())
        )
        visited = sum(visits)
        swept = time.monotonic()
    print(
        f"\nsweep: {visited} page views, filled in {loaded - began:.1f}s, "
        f"visited in {swept - loaded:.1f}s"
    )
    assert problems == [], "\n".join(problems)
    # Both people, both widths, every page.
    assert visited >= 2 * len(WIDTHS) * 20, visited
