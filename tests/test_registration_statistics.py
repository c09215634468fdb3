"""The series statistics for the annual report (secretariat): trained participants per year,
host country, participant country and CBSS category, attendance and evaluation response
rates; as JSON, CSV and a staff page, on SQLite and PostgreSQL, and in a real browser."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from services.registration.statistics import Responses, Seat, TrainingFacts, statistics
from shared.events import contracts as ev
from tests.browser import (
    accessibility_violations,
    browser_page,
    sideways_scroll,
    sign_in_with_token,
)
from tests.registration_support import DEFAULT_TRAINING, open_training, person, register
from tests.servers import served_alone
from tests.support import System, eventually, publish

HTML = {"Accept": "text/html"}
TITLE = DEFAULT_TRAINING["title"]
# The trainings of `a_known_series`: first day, host country, city, zone, title.
SERIES = (
    (date(2009, 4, 28), "EE", "Tallinn", "Europe/Tallinn", TITLE),
    (date(2009, 5, 25), "IS", "Reykjavik", "Atlantic/Reykjavik", TITLE),
    (date(2023, 3, 1), "LV", "Riga", "Europe/Riga", '=HYPERLINK("http://x") Riga'),
    # Cancelled, and no matter where it would have been.
    (date(2010, 2, 1), "DE", "Berlin", "Europe/Tallinn", TITLE),
)


@dataclass
class Series:
    tallinn: ev.TrainingData
    reykjavik: ev.TrainingData
    riga: ev.TrainingData
    cancelled: ev.TrainingData


async def _registered(system: System, training_id: str, number: int, country: str) -> str:
    body = person(number, country=country)
    return str(
        (await register(system.registration, training_id, body, headers=system.token()))["id"]
    )


async def _checked_in(system: System, registration_id: str) -> None:
    response = await system.registration.post(
        f"/registrations/{registration_id}/check-in", headers=system.token()
    )
    assert response.status_code == 200, response.text


async def a_known_series(system: System) -> Series:
    """Three trainings held and one cancelled, with registrations, check-ins and the counts
    evaluation publishes. The expected figures are worked out by hand in the tests."""
    nats = system.nats.url
    tallinn, reykjavik, riga, cancelled = [
        await open_training(
            nats,
            system.registration,
            starts_on=day,
            host_country=country,
            city=city,
            timezone=zone,
            title=title,
        )
        for day, country, city, zone, title in SERIES
    ]
    # Tallinn 2009: EE (member), FR and BY (observers then), CN (other; did not come).
    for number, country in ((1, "EE"), (2, "FR"), (3, "BY")):
        await _checked_in(system, await _registered(system, tallinn.id, number, country))
    await _registered(system, tallinn.id, 4, "CN")
    # Reykjavik 2009: participant 1 again, who came; RU (a member then) who did not; and
    # someone who cancelled, who counts nowhere.
    await _checked_in(system, await _registered(system, reykjavik.id, 1, "EE"))
    await _registered(system, reykjavik.id, 5, "RU")
    gone = await _registered(system, reykjavik.id, 7, "SE")
    cancel = await system.registration.post(f"/registrations/{gone}/cancel", headers=system.token())
    assert cancel.status_code == 200, cancel.text
    # Riga 2023: RU and BY are "other" by then; both came.
    for number, country in ((8, "RU"), (9, "BY")):
        await _checked_in(system, await _registered(system, riga.id, number, country))
    await _registered(system, cancelled.id, 10, "DE")
    await publish(nats, ev.TrainingCancelled(id=cancelled.id, revision=2))

    # Evaluation's counts: Tallinn's released answers (an older revision arrives late and
    # changes nothing), Reykjavik's campaign closed unanswered, and a follow-up campaign
    # that the response rate leaves out.
    tallinn_campaign, reykjavik_campaign = str(uuid.uuid4()), str(uuid.uuid4())
    await publish(
        nats,
        ev.ResponseSubmitted(
            id=tallinn_campaign, revision=3, training_id=tallinn.id, invited=3, answered=3
        ),
        ev.ResponseSubmitted(
            id=tallinn_campaign, revision=2, training_id=tallinn.id, invited=3, answered=0
        ),
        ev.CampaignClosed(
            id=reykjavik_campaign, revision=1, training_id=reykjavik.id, invited=1, answered=0
        ),
        ev.ResponseSubmitted(
            id=str(uuid.uuid4()),
            revision=1,
            training_id=tallinn.id,
            invited=3,
            answered=1,
            stage="follow_up",
        ),
    )

    async def counted() -> bool:
        figures = (await system.registration.get("/statistics", headers=system.token())).json()
        return figures["total"]["invited"] == 4 and len(figures["years"]) == 2

    await eventually(counted)
    return Series(tallinn, reykjavik, riga, cancelled)


def _by(items: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    return {item[key]: item for item in items}


async def test_figures_per_year_country_and_category(any_registration: System) -> None:
    system = any_registration
    series = await a_known_series(system)

    every = (await system.registration.get("/statistics", headers=system.token())).json()
    assert every["year"] is None and every["years"] == [2023, 2009]
    # Seven confirmed in three trainings (the cancelled training is left out), six came;
    # participant 1 came twice: five people.
    assert every["total"] == {
        "trainings": 3,
        "confirmed": 8,
        "trained": 6,
        "attendance_rate": 0.75,
        "invited": 4,
        "answered": 3,
        "response_rate": 0.75,
    }
    assert every["people"] == 5
    categories = _by(every["by_category"], "category")
    assert (categories["member"]["confirmed"], categories["member"]["trained"]) == (3, 2)
    assert (categories["observer"]["confirmed"], categories["observer"]["trained"]) == (2, 2)
    # RU and BY in 2023, CN in 2009.
    assert (categories["other"]["confirmed"], categories["other"]["trained"]) == (3, 2)

    year = (await system.registration.get("/statistics?year=2009", headers=system.token())).json()
    assert year["year"] == 2009
    assert [t["id"] for t in year["trainings"]] == [series.tallinn.id, series.reykjavik.id]
    (only,) = year["by_year"]
    assert only["year"] == 2009 and only["people"] == 3
    assert (only["confirmed"], only["trained"], only["attendance_rate"]) == (6, 4, 0.6667)
    assert (only["invited"], only["answered"], only["response_rate"]) == (4, 3, 0.75)
    hosts = _by(year["by_host_country"], "country")
    assert set(hosts) == {"EE", "IS"}
    assert (hosts["EE"]["trained"], hosts["EE"]["response_rate"]) == (3, 1.0)
    assert (hosts["IS"]["confirmed"], hosts["IS"]["trained"]) == (2, 1)
    assert (hosts["IS"]["invited"], hosts["IS"]["response_rate"]) == (1, 0.0)
    countries = _by(year["by_participant_country"], "country")
    assert {code: (c["confirmed"], c["trained"]) for code, c in countries.items()} == {
        "EE": (2, 2),
        "FR": (1, 1),
        "BY": (1, 1),
        "CN": (1, 0),
        "RU": (1, 0),
    }
    assert countries["EE"]["trainings"] == 2
    assert "invited" not in countries["EE"]  # never per participant country
    categories = _by(year["by_category"], "category")
    assert {kind: (c["confirmed"], c["trained"]) for kind, c in categories.items()} == {
        "member": (3, 2),
        "observer": (2, 2),
        "other": (1, 0),
    }

    later = (await system.registration.get("/statistics?year=2023", headers=system.token())).json()
    assert _by(later["by_category"], "category")["other"]["trained"] == 2
    assert later["total"]["invited"] == 0 and later["total"]["response_rate"] is None

    sheet = await system.registration.get("/statistics.csv?year=2009", headers=system.token())
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(sheet.text)))
    total = next(r for r in rows if r["section"] == "total")
    assert (total["trained"], total["attendance_rate"], total["people"]) == ("4", "0.6667", "3")
    assert {r["key"] for r in rows if r["section"] == "host_country"} == {"EE", "IS"}
    every_sheet = await system.registration.get("/statistics.csv", headers=system.token())
    riga = next(
        r for r in csv.DictReader(io.StringIO(every_sheet.text)) if r["key"] == series.riga.id
    )
    # A title that a spreadsheet would run is quoted.
    assert riga["label"] == "'" + series.riga.title


async def test_only_the_secretariat_sees_the_statistics(any_registration: System) -> None:
    system = any_registration
    await a_known_series(system)
    organiser = system.token("organiser", ["EE"])
    for path in ("/statistics", "/statistics.csv"):
        refused = await system.registration.get(path, headers=organiser)
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert (await system.registration.get(path)).status_code == 401
    bad = await system.registration.get("/statistics?year=nineteen", headers=system.token())
    assert bad.status_code == 400 and "year" in bad.text
    page = await system.registration.get("/staff/statistics", headers={**HTML, **organiser})
    assert page.status_code == 403 and "Only the secretariat" in page.text
    assert "/staff/statistics" not in page.text  # nor is it in an organiser's navigation


async def test_the_statistics_page_shows_the_figures(any_registration: System) -> None:
    system = any_registration
    series = await a_known_series(system)
    page = await system.registration.get(
        "/staff/statistics?year=2009", headers={**HTML, **system.token()}
    )
    assert page.status_code == 200
    text = page.text
    assert 'id="total-trained">4<' in text and 'id="total-people">3<' in text
    assert 'id="total-attendance">67%<' in text
    assert 'id="total-responses">3 of 4 (75%)<' in text
    assert "checked in at least once" in text
    assert f'id="training-{series.tallinn.id}"' in text
    assert f'id="training-{series.riga.id}"' not in text
    assert 'href="/statistics.csv?year=2009"' in text
    # In the secretariat's navigation, current.
    assert 'href="http://127.0.0.1:8001/staff/statistics" aria-current="page"' in text
    # Every staff page links it for the secretariat, and for no one else.
    link = 'href="http://127.0.0.1:8001/staff/statistics"'
    assert link in (await system.registration.get("/staff/", headers=system.token())).text
    organiser = system.token("organiser", ["EE"])
    assert link not in (await system.registration.get("/staff/", headers=organiser)).text
    signed_out = await system.registration.get("/staff/statistics", follow_redirects=False)
    assert signed_out.status_code == 303
    assert (
        signed_out.headers["location"]
        == f"{system.settings.public_url('scheduling')}/staff/sign-in"
    )


@pytest.mark.browser
async def test_the_statistics_page_on_a_phone_and_a_desktop(tmp_path: Path) -> None:
    async with served_alone(tmp_path, "registration") as (system, url):
        await a_known_series(system)
        token = system.token()["Authorization"].removeprefix("Bearer ")
        for width in (390, 1280):
            async with browser_page(viewport={"width": width, "height": 900}) as tab:
                await sign_in_with_token(tab, url, "/staff/statistics", token)
                await tab.get_by_label("Year", exact=True).select_option("2009")
                await tab.get_by_role("button", name="Show").click()
                await tab.wait_for_url("**/staff/statistics?year=2009")
                assert await tab.locator("#total-trained").inner_text() == "4"
                await tab.wait_for_load_state("load")
                sideways = await sideways_scroll(tab)
                assert sideways <= 0, f"scrolls sideways by {sideways}px at {width}px"
                found = await accessibility_violations(tab)
                assert found == [], found


def test_categories_follow_the_training_day_and_empty_rates_are_null() -> None:
    def training(name: str, day: date) -> TrainingFacts:
        return TrainingFacts(name, name, "cbss-thb", "PL", "Warsaw", day, "completed")

    trainings = [
        training("before", date(2022, 5, 16)),
        training("after", date(2022, 5, 17)),
        training("empty", date(2022, 6, 1)),
    ]
    seats = [Seat("before", "p1", "RU", True), Seat("after", "p1", "RU", False)]
    figures = statistics(trainings, seats, [Responses("before", 1, 0)], 2022)
    kinds = {c.category: (c.confirmed, c.trained) for c in figures.by_category}
    assert kinds == {"member": (1, 1), "observer": (0, 0), "other": (1, 0)}
    assert figures.people == 1 and figures.total.trainings == 3
    empty = next(t for t in figures.trainings if t.id == "empty")
    assert (empty.attendance_rate, empty.response_rate) == (None, None)
    assert figures.total.response_rate == 0.0
