"""The pages: the questionnaire from the invitation link, and the staff's report with its charts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser import accessibility_violations, browser_page, csrf_of, sign_in_with_token
from tests.evaluation_support import Training, completed_training, overall_answers, sql
from tests.servers import served_alone
from tests.support import System

HTML = {"accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}


async def _mari_invited(system: System) -> tuple[Training, str]:
    """A completed training whose one attendee, Mari Tamm, is invited; her evaluation's path."""
    training, tokens = await completed_training(system, ["Mari Tamm"])
    return training, f"/evaluations/{tokens['Mari Tamm']}"


async def _mari_at_the_form(system: System) -> tuple[Training, str, Any]:
    """`_mari_invited`, and her form as a browser gets it."""
    training, link = await _mari_invited(system)
    return training, link, await system.evaluation.get(link, headers=HTML)


async def test_the_invitation_link_gives_a_browser_the_form_and_a_client_json(
    evaluation: System,
) -> None:
    system = evaluation
    training, link, page = await _mari_at_the_form(system)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert training.title in page.text
    assert (
        '<legend>Overall, how satisfied are you with the training? <span class="req">' in page.text
    )
    assert 'name="viewport"' in page.text
    # No script, style sheet or font from anywhere else.
    assert not re.search(r'(src|href)="https?://', page.text)
    data = await system.evaluation.get(link)
    assert data.headers["content-type"].startswith("application/json")
    assert data.json()["training_id"] == training.id


async def test_the_form_refuses_a_post_without_its_csrf_token(evaluation: System) -> None:
    system = evaluation
    _, link = await _mari_invited(system)
    posted = await system.evaluation.post(
        f"{link}/form",
        data={"overall": "4", "recommend": "9", "action": "submit"},
    )
    assert posted.status_code == 403
    assert await sql(system, "SELECT COUNT(*) FROM response") == [(0,)]


async def test_the_form_shows_problems_next_to_their_questions_and_keeps_the_answers(
    evaluation: System,
) -> None:
    system = evaluation
    _, link, form = await _mari_at_the_form(system)
    posted = await system.evaluation.post(
        f"{link}/form",
        data={"_csrf_token": csrf_of(form.text), "overall": "4", "action": "submit"},
        headers=HTML,
    )
    assert posted.status_code == 422
    html = posted.text
    assert 'id="error-summary"' in html and 'href="#q-recommend"' in html
    assert '<p class="error" id="q-recommend-error">Needs an answer.</p>' in html
    assert 'aria-describedby="q-recommend-error"' in html
    assert re.search(r'name="overall" value="4" checked', html)
    assert await sql(system, "SELECT COUNT(*) FROM response") == [(0,)]

    saved = await system.evaluation.post(
        f"{link}/form",
        data={"_csrf_token": csrf_of(html), "overall": "4", "action": "save"},
        headers=HTML,
        follow_redirects=False,
    )
    assert saved.status_code == 303 and saved.headers["location"] == f"{link}?saved=1"
    assert (await system.evaluation.get(link)).json()["draft"] == {"overall": 4}


async def test_staff_pages_send_strangers_to_sign_in_and_refuse_other_countries(
    evaluation: System,
) -> None:
    system = evaluation
    training, _ = await completed_training(system, ["Mari Tamm"])
    page = await system.evaluation.get(f"/reports/{training.id}", follow_redirects=False)
    assert page.status_code == 303
    # To scheduling's page where staff ask for a sign-in link by e-mail.
    sign_in = f"{system.settings.public_url('scheduling')}/staff/sign-in"
    assert page.headers["location"] == sign_in
    other = await system.evaluation.get(
        f"/reports/{training.id}", headers={**HTML, **system.token("organiser", ["LV"])}
    )
    assert other.status_code == 403
    host = await system.evaluation.get(
        f"/reports/{training.id}", headers={**HTML, **system.token("organiser", ["EE"])}
    )
    assert host.status_code == 200
    # Organisers do not see who answered; the secretariat does.
    assert "Mari Tamm" not in host.text
    listing = await system.evaluation.get(f"/reports/{training.id}", headers=system.token())
    assert "Mari Tamm" in listing.text
    trends = await system.evaluation.get(
        "/reports/series/cbss-thb", headers=system.token("organiser", ["EE"])
    )
    assert trends.status_code == 403


# --- in a real browser ------------------------------------------------------------------


async def fits_the_screen(tab: Any) -> bool:
    return bool(
        await tab.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


@pytest.mark.browser
async def test_an_invitation_is_answered_on_a_phone_and_thanked(tmp_path: Path) -> None:
    async with served_alone(tmp_path, "evaluation") as (system, public):
        _, path = await _mari_invited(system)
        link = f"{public}{path}"
        async with browser_page(viewport={"width": 390, "height": 844}) as tab:
            await tab.goto(link)
            assert "Trafficking in human beings" in await tab.locator("h1").inner_text()
            assert await fits_the_screen(tab)

            # Submitting with nothing answered: the problems show where they are.
            await tab.get_by_role("button", name="Submit my answers").click()
            await tab.wait_for_selector("#error-summary")
            assert "Needs an answer" in await tab.locator("#q-overall-error").inner_text()
            assert "Needs an answer" in await tab.locator("#q-recommend-error").inner_text()

            overall = tab.get_by_role("group", name=re.compile("Overall, how satisfied"))
            await overall.get_by_label("4", exact=True).check()
            await tab.get_by_label("Your answer (optional").fill("The case studies were the best.")
            await tab.get_by_role("button", name="Save draft, finish later").click()
            await tab.wait_for_selector("text=Your draft is saved")

            await tab.goto(link)
            overall = tab.get_by_role("group", name=re.compile("Overall, how satisfied"))
            assert await overall.get_by_label("4", exact=True).is_checked()
            recommend = tab.get_by_role("group", name=re.compile("recommend this training"))
            await recommend.get_by_label("9", exact=True).check()
            await tab.get_by_role("button", name="Submit my answers").click()
            await tab.wait_for_url("**/thanks")
            assert await tab.locator("h1").inner_text() == "Thank you"
            assert await fits_the_screen(tab)

        # Held until two more arrive (stepped release), then stored as these answer rows.
        ((parts,),) = await sql(system, "SELECT parts FROM pending_response")
        parts = json.loads(parts) if isinstance(parts, str) else parts
        assert sorted((p["question_id"], p["value"], p["text"]) for p in parts) == [
            ("comments", None, "The case studies were the best."),
            ("overall", 4, None),
            ("recommend", 9, None),
        ]
        assert await sql(system, "SELECT COUNT(*) FROM answer") == [(0,)]


@pytest.mark.browser
async def test_the_secretariat_signs_in_and_sees_the_report_with_its_charts(
    tmp_path: Path,
) -> None:
    async with served_alone(tmp_path, "evaluation") as (system, url):
        names = ["Mari Tamm", "Jaan Kask", "Liis Saar", "Peeter Org"]
        training, tokens = await completed_training(system, names)
        form = (await system.evaluation.get(f"/evaluations/{tokens['Mari Tamm']}")).json()
        session = next(q["id"] for q in form["questions"] if q["id"].startswith("session:"))
        for name, (overall, recommend) in zip(names[:3], [(5, 10), (4, 9), (2, 3)], strict=True):
            answers = overall_answers(overall, recommend, **{session: overall})
            assert (
                await system.evaluation.post(f"/evaluations/{tokens[name]}", json=answers)
            ).status_code == 201
        token = system.token()["Authorization"].removeprefix("Bearer ")

        async with browser_page() as tab:
            await sign_in_with_token(tab, url, f"/reports/{training.id}", token)

            assert await tab.locator("h1").inner_text() == training.title
            assert await accessibility_violations(tab) == []
            charts = tab.locator("svg.chart")
            assert await charts.count() >= 3
            recommendation = tab.get_by_role("img", name="Recommendation score +33.3")
            assert await recommendation.locator("rect.bar").count() == 3
            sessions = tab.get_by_role("img", name="Mean rating per session (1 to 5)")
            assert "3.67 (n=3)" in (await sessions.text_content() or "")
            overall = tab.get_by_role(
                "img", name="Overall, how satisfied are you with the training?"
            )
            assert await overall.locator("rect.bar").count() == 5

            # The reminder asks first: the box must be ticked.
            await tab.get_by_label("Yes, mail a reminder").check()
            await tab.get_by_role("button", name="Remind those who have not answered").click()
            await tab.wait_for_selector("text=1 reminder sent.")

            await tab.get_by_role("link", name="Trends of the series").click()
            await tab.wait_for_url("**/reports/series/cbss-thb")
            assert await tab.locator("svg.chart").count() >= 2
            assert await accessibility_violations(tab) == []
            await tab.goto(f"{url}/reports")
            assert await accessibility_violations(tab) == []
