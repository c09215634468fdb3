"""Public pages of scheduling: the index, a series, a training's timetable; and in a browser."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pytest

from capitals.embedded import free_port
from services.scheduling.app import app
from shared.calendar import KIND_LABELS
from shared.clock import clock
from shared.events import contracts as ev
from shared.events.contracts import SESSION_KINDS
from tests.browser import browser_page
from tests.scheduling_support import (
    across_the_autumn_change,
    add_session,
    create_training,
    published_training,
    scheduling_system,
    service_env,
)
from tests.servers import Command, serve_app
from tests.support import NatsServer, System, eventually, publish

PORT = free_port()
PUBLIC = f"http://127.0.0.1:{PORT}"
REGISTRATION = "https://register.capitals.example"


def test_pages_name_every_session_kind_of_the_contract_and_no_other() -> None:
    assert tuple(KIND_LABELS) == SESSION_KINDS


@pytest.fixture(scope="module")
async def system(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[System]:
    async with scheduling_system(
        tmp_path_factory.mktemp("pages"),
        SCHEDULING_PUBLIC_URL=PUBLIC,
        REGISTRATION_PUBLIC_URL=REGISTRATION,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def other_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """A broker for the extra instances these tests start over real HTTP.

    They read the module's database; on a broker of their own they stay off the
    in-process instance's durable consumers, which they would otherwise join.
    """
    broker = NatsServer(tmp_path_factory.mktemp("other-nats"))
    broker.start()
    yield broker
    broker.stop()


async def page(system: System, path: str, **headers: str) -> str:
    response = await system.scheduling.get(path, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def text_of(html: str) -> str:
    """The page's visible text, tags removed and spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split()).replace(" ,", ",")


async def test_a_training_page_shows_the_timetable_in_local_time_with_subscribe_and_register_links(
    system: System,
) -> None:
    ee = system.token("organiser", ["EE"])
    training = await create_training(
        system, ee, series="pages-series", starts_on="2031-04-28", title="Tallinn training"
    )
    await add_session(system, ee, training, title="Opening <keynote>", start="09:30", end="11:00")
    await add_session(
        system, ee, training, title="Lunch", kind="break", start="12:00", end="13:00", room="Café"
    )
    await system.scheduling.post(f"/trainings/{training['id']}/publish", headers=ee)

    html = await page(system, f"/trainings/{training['id']}/page")
    text = text_of(html)
    assert "Tallinn training" in text and "Tallinn, Estonia" in text
    assert "Monday, 28 April 2031" in text
    assert "local time in Tallinn: Europe/Tallinn (EEST, UTC+03:00)" in text
    assert "09:30\u201311:00" in text and "12:00\u201313:00" in text
    assert "Opening &lt;keynote&gt;" in html and "<keynote>" not in html
    assert "Kristiina Kangaspunta (UNODC)" in text
    assert f'href="webcal://127.0.0.1:{PORT}/trainings/{training["id"]}/calendar.ics"' in html
    assert f'href="{PUBLIC}/trainings/{training["id"]}/calendar.ics"' in html
    assert f'href="{REGISTRATION}/register/{training["id"]}"' in html
    assert 'lang="en"' in html and "<script" not in html
    assert "http://" not in html.replace(PUBLIC, "")  # no outside assets


async def test_a_session_across_a_daylight_saving_change_shows_both_offsets(
    system: System,
) -> None:
    se = system.token("organiser", ["SE"])
    training, _ = await across_the_autumn_change(system, se)
    text = text_of(await page(system, f"/trainings/{training['id']}/page", **_auth(se)))
    assert "01:30 CEST\u201303:30 CET" in text
    assert "Europe/Stockholm (CET, UTC+01:00 / CEST, UTC+02:00)" in text
    assert "Draft" in text


def _auth(headers: dict[str, str]) -> dict[str, str]:
    return {"Authorization": headers["Authorization"]}


async def test_a_draft_page_is_hidden_from_the_public_and_previewed_by_its_organisers(
    system: System,
) -> None:
    ee = system.token("organiser", ["EE"])
    training = await create_training(system, ee)
    public = await system.scheduling.get(f"/trainings/{training['id']}/page")
    assert public.status_code == 404
    preview = text_of(await page(system, f"/trainings/{training['id']}/page", **_auth(ee)))
    assert "only organisers see this page" in preview
    lv = system.token("organiser", ["LV"])
    other = await system.scheduling.get(f"/trainings/{training['id']}/page", headers=lv)
    assert other.status_code == 404


async def test_registration_is_offered_only_while_its_window_is_open(system: System) -> None:
    clock.set(datetime(2030, 12, 1, 12, 0, tzinfo=UTC))
    ee = system.token("organiser", ["EE"])
    soon, _ = await published_training(system, ee, registration_opens_at="2030-12-10T09:00:00")
    html = await page(system, f"/trainings/{soon['id']}/page")
    assert 'id="register"' not in html
    assert (
        "Registration opens on 10 December 2030, 09:00 (Eastern European Standard Time)."
        in text_of(html)
    )

    closed, _ = await published_training(
        system,
        ee,
        registration_opens_at="2030-11-01T09:00:00",
        registration_closes_at="2030-11-30T09:00:00",
    )
    html = await page(system, f"/trainings/{closed['id']}/page")
    assert 'id="register"' not in html and "Registration is closed." in text_of(html)

    cancelled, _ = await published_training(system, ee)
    await system.scheduling.post(f"/trainings/{cancelled['id']}/cancel", headers=ee)
    html = await page(system, f"/trainings/{cancelled['id']}/page")
    assert 'id="register"' not in html
    assert "This training has been cancelled." in text_of(html)
    assert "Cancelled" in text_of(html)


async def test_the_series_page_lists_trainings_by_date_with_their_capitals(
    system: System,
) -> None:
    ee, lv = system.token("organiser", ["EE"]), system.token("organiser", ["LV"])
    later, _ = await published_training(
        system, lv, series="by-capital", host_country="LV", starts_on="2031-09-02"
    )
    earlier, _ = await published_training(
        system, ee, series="by-capital", starts_on="2031-05-25", ends_on="2031-05-26"
    )
    await create_training(system, ee, series="by-capital", title="Unpublished draft")
    await system.scheduling.put(
        "/series/by-capital", json={"title": "Trainings on trafficking"}, headers=system.token()
    )
    html = await page(system, "/series/by-capital/page")
    text = text_of(html)
    assert "Trainings on trafficking" in text
    assert text.index("Tallinn, Estonia") < text.index("Riga, Latvia")
    assert "25\u201326 May 2031" in text and "Tuesday, 2 September 2031" in text
    assert "Unpublished draft" not in text
    assert f'href="{PUBLIC}/trainings/{earlier["id"]}/page"' in html
    assert f'href="{PUBLIC}/trainings/{later["id"]}/page"' in html
    assert 'href="webcal://127.0.0.1' in html
    missing = await system.scheduling.get("/series/no-such-series/page")
    assert missing.status_code == 404

    index = text_of(await page(system, "/"))
    assert "Trainings on trafficking" in index and "Riga, Tallinn" in index


async def test_the_series_page_shows_each_editions_real_state_and_links_to_register(
    system: System,
) -> None:
    clock.set(datetime(2030, 12, 1, 12, 0, tzinfo=UTC))
    ee, slug = system.token("organiser", ["EE"]), "edition-states"
    made = {}
    for name, changes in {
        "open": {"starts_on": "2031-02-03"},
        "full": {"starts_on": "2031-02-04", "capacity": 1},
        "soon": {"starts_on": "2031-02-05", "registration_opens_at": "2030-12-10T09:00:00"},
        "closed": {"starts_on": "2031-02-06", "registration_closes_at": "2030-11-30T09:00:00"},
        "cancelled": {"starts_on": "2031-02-07"},
        "completed": {"starts_on": "2030-12-01"},
    }.items():
        made[name], _ = await published_training(system, ee, series=slug, title=name, **changes)
    await system.scheduling.post(f"/trainings/{made['cancelled']['id']}/cancel", headers=ee)
    await system.scheduling.post(f"/trainings/{made['completed']['id']}/complete", headers=ee)
    await publish(
        system.nats.url,
        ev.RegistrationConfirmed(
            id=str(uuid.uuid4()),
            revision=1,
            training_id=made["full"]["id"],
            participant_id=str(uuid.uuid4()),
            status="confirmed",
        ),
    )

    def state_of(html: str, name: str) -> str:
        rows = re.findall(r'<tr class="training[^"]*">.*?</tr>', html, re.S)
        row = next((r for r in rows if f">{name}</a>" in r), None)
        assert row is not None, name
        return text_of(row)

    async def full_shown() -> str:
        html = await page(system, f"/series/{slug}/page")
        assert "Full: new registrations join the waiting list" in state_of(html, "full")
        return html

    html = await eventually(full_shown, timeout=15)
    assert "Scheduled" not in text_of(html)
    assert state_of(html, "open").endswith("Open for registration Register for open")
    opens = "Registration opens on 10 December 2030, 09:00 (Eastern European Standard Time)"
    assert state_of(html, "soon").endswith(opens)
    assert state_of(html, "closed").endswith("Registration closed")
    assert state_of(html, "cancelled").endswith("Cancelled")
    assert state_of(html, "completed").endswith("Completed")
    # Registration's own form, on its public URL, for the editions open for registration.
    for name in ("open", "full"):
        assert f'href="{REGISTRATION}/register/{made[name]["id"]}"' in html
    for name in ("soon", "closed", "cancelled", "completed"):
        assert f"/register/{made[name]['id']}" not in html


# --- over real HTTP: a browser, and two processes ----------------------------------------


@pytest.mark.browser
async def test_a_browser_reads_the_series_and_training_pages_and_their_links(
    system: System, other_broker: NatsServer
) -> None:
    ee = system.token("organiser", ["EE"])
    training, sessions = await published_training(
        system, ee, sessions=2, series="browser-series", starts_on="2031-06-16"
    )
    settings = replace(system.settings, nats_url=other_broker.url)
    async with (
        serve_app(app(settings), PORT) as url,
        browser_page(viewport={"width": 390, "height": 844}) as tab,
    ):
        # A phone's viewport: nothing may need sideways scrolling.
        await tab.goto(f"{url}/series/browser-series/page")
        assert await tab.locator("h1").inner_text() == "Browser Series"
        row = tab.locator("#trainings tr.training")
        assert await row.count() == 1
        assert "Tallinn" in await row.locator(".capital").inner_text()
        assert await _fits(tab)

        await row.get_by_role("link").first.click()
        await tab.wait_for_url(f"**/trainings/{training['id']}/page")
        times = tab.locator("#timetable tr.session td.time")
        assert await times.all_inner_texts() == ["09:00\u201309:45", "10:00\u201310:45"]
        assert "EEST, UTC+03:00" in await tab.locator("#zone-note").inner_text()
        webcal = await tab.locator("#subscribe-webcal").get_attribute("href")
        https = await tab.locator("#subscribe-https").get_attribute("href")
        assert webcal == f"webcal://127.0.0.1:{PORT}/trainings/{training['id']}/calendar.ics"
        assert https == f"{url}/trainings/{training['id']}/calendar.ics"
        register = await tab.locator("#register").get_attribute("href")
        assert register == f"{REGISTRATION}/register/{training['id']}"
        assert await _fits(tab)

        # The https link really is the feed, with both sessions.
        feed = await tab.request.get(https)
        assert feed.ok and "text/calendar" in feed.headers["content-type"]
        body = await feed.text()
        assert all(s["id"] in body for s in sessions)


async def _fits(tab: object) -> bool:
    width = await tab.evaluate(  # type: ignore[attr-defined]
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    return bool(width)


async def test_two_processes_serve_byte_identical_feeds(
    system: System, other_broker: NatsServer
) -> None:
    ee = system.token("organiser", ["EE"])
    se = system.token("organiser", ["SE"])
    await published_training(system, ee, sessions=3, series="two-processes")
    await published_training(system, se, sessions=2, series="two-processes", host_country="SE")
    path = "/series/two-processes/calendar.ics"
    here = (await system.scheduling.get(path)).content
    env = {**service_env(system), "NATS_URL": other_broker.url}
    bodies = []
    for seed in ("1", "4242"):
        port = free_port()
        env_of_process = {**env, "SCHEDULING_PUBLIC_URL": PUBLIC, "PYTHONHASHSEED": seed}
        with Command("scheduling", port, env_of_process).served():
            url = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.get(f"{url}{path}")
            assert response.status_code == 200
            bodies.append((response.content, response.headers["etag"]))
    assert bodies[0] == bodies[1]
    assert bodies[0][0] == here
    assert here.count(b"BEGIN:VTIMEZONE") == 2
