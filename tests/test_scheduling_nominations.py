"""A training by nomination in scheduling: set in the API and on the staff form, carried by
the training events (old events without it still decode), shown on the public pages without
a registration link."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from shared.events import contracts as ev
from tests.scheduling_support import (
    create_training,
    event_tap,
    fresh_day,
    one_scheduling_system_per_module,
    published_training,
)
from tests.support import System, eventually
from tests.test_scheduling_staff_pages import Browser, signed_in

system = one_scheduling_system_per_module("nominations")


async def test_by_nomination_and_its_deadline_travel_with_the_training_events(
    system: System,
) -> None:
    organiser = system.token("organiser", ["EE"])
    day = fresh_day()
    async with event_tap(system) as tap:
        training, _ = await published_training(
            system,
            organiser,
            starts_on=day,
            by_nomination=True,
            nominations_close_at=f"{day.replace(day=1).isoformat()}T12:00:00",
        )
        assert training["by_nomination"] is True
        # Wall-clock time in the training's zone, as the registration window.
        closes = datetime.fromisoformat(training["nominations_close_at"])
        assert closes.hour == 12 and closes.utcoffset() is not None

        async def published() -> Any:
            found = tap.of("scheduling.training.published", training["id"])
            assert found
            return found[0]

        event = await eventually(published)
        assert event.by_nomination is True
        assert event.nominations_close_at == closes

        patched = await system.scheduling.patch(
            f"/trainings/{training['id']}",
            json={"by_nomination": False, "nominations_close_at": None},
            headers=organiser,
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["by_nomination"] is False

        async def updated() -> Any:
            found = tap.of("scheduling.training.updated", training["id"])
            assert found
            return found[-1]

        assert (await eventually(updated)).by_nomination is False


def test_a_training_event_of_before_nominations_decodes_as_open_to_the_public() -> None:
    old = {
        "id": "t1",
        "revision": 1,
        "series": "cbss-thb",
        "title": "Riga",
        "host_country": "LV",
        "city": "Riga",
        "venue": "MFA",
        "timezone": "Europe/Riga",
        "starts_on": "2031-05-01",
        "ends_on": "2031-05-01",
        "capacity": 20,
    }
    decoded = msgspec.json.decode(msgspec.json.encode(old), type=ev.TrainingPublished)
    assert decoded.by_nomination is False and decoded.nominations_close_at is None


async def test_public_pages_say_by_nomination_and_offer_no_registration(system: System) -> None:
    organiser = system.token("organiser", ["EE"])
    training, _ = await published_training(system, organiser, by_nomination=True)
    page = await system.scheduling.get(f"/trainings/{training['id']}/page")
    assert page.status_code == 200
    assert "By nomination" in page.text and 'id="register"' not in page.text
    series = await system.scheduling.get(f"/series/{training['series']}/page")
    assert "By nomination" in series.text
    public, _ = await published_training(system, organiser)
    assert 'id="register"' in (await system.scheduling.get(f"/trainings/{public['id']}/page")).text


async def test_the_staff_form_sets_by_nomination_and_the_deadline(system: System) -> None:
    browser = Browser(system, signed_in(system))
    training = await create_training(system, system.token("organiser", ["EE"]))
    url = f"/staff/trainings/{training['id']}"
    page = await browser.get(url)
    assert 'id="by_nomination"' in page.text and 'id="nominations_close_at"' in page.text
    form = {
        "title": training["title"],
        "venue": training["venue"],
        "starts_on": training["starts_on"],
        "ends_on": training["ends_on"],
        "capacity": "30",
        "by_nomination": "on",
        "nominations_close_at": f"{training['starts_on']}T08:30",
    }
    saved = await browser.post(url, url, **form)
    assert saved.status_code == 303, saved.text
    shown = (await system.scheduling.get(url.removeprefix("/staff"), headers=system.token())).json()
    assert shown["by_nomination"] is True
    closes = datetime.fromisoformat(shown["nominations_close_at"])
    # Wall-clock time in the capital's zone, whatever the season of the test's day.
    assert f"{closes:%H:%M}" == "08:30"
    assert f"{closes.astimezone(ZoneInfo('Europe/Tallinn')):%H:%M}" == "08:30"
    page = await browser.get(url)
    assert f'value="{training["starts_on"]}T08:30"' in page.text
