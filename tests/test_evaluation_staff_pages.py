"""Evaluation's staff pages: the question editors, the reports list's filters, the report's
charts as tables, session labels, every option in the trends, and the confirmed reminder."""

from __future__ import annotations

import re
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
import pytest

from services.evaluation import charts, question_forms
from services.evaluation.schemas import TrendPoint, TrendQuestion
from tests.browser import accessibility_violations, browser_page, csrf_of, sign_in_with_token
from tests.evaluation_support import (
    Training,
    completed_training,
    deliver,
    overall_answers,
    published_with_a_lecture,
    sql,
)
from tests.servers import served_alone
from tests.support import System

HTML = {"accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}


class _Form(HTMLParser):
    """The fields a browser would send from the form posting to `action`, as it shows them."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.fields = action, False, {}
        self.textarea: str | None = None
        self.select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action") == self.action
        if not self.inside or "name" not in a:
            if tag == "option" and self.select and "selected" in a:
                self.fields[self.select] = a.get("value", "")
            return
        if tag == "input" and a.get("type") == "checkbox":
            if "checked" in a:
                self.fields[a["name"]] = "on"
        elif tag == "input":
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "textarea":
            self.textarea = a["name"]
            self.fields[a["name"]] = ""
        elif tag == "select":
            self.select = a["name"]

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.fields[self.textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self.textarea = None
        elif tag == "select":
            self.select = None
        elif tag == "form":
            self.inside = False


def form_of(html: str, action: str) -> dict[str, str]:
    parser = _Form(action)
    parser.feed(html)
    assert parser.fields, f"no form posting to {action}"
    return dict(parser.fields)


async def bank_form(system: System) -> tuple[dict[str, str], dict[str, str]]:
    """The secretariat's headers (a browser's) and the fields of the bank's form as shown."""
    secretariat = {**HTML, **system.token()}
    page = await system.evaluation.get("/staff/questions", headers=secretariat)
    return secretariat, form_of(page.text, "/staff/questions")


async def bank_versions(system: System) -> int:
    ((count,),) = await sql(system, "SELECT COUNT(*) FROM question_bank")
    return int(count)


# --- the core bank ---------------------------------------------------------------------


async def test_only_the_secretariat_may_open_or_save_the_question_bank(evaluation: System) -> None:
    system = evaluation
    organiser = {**HTML, **system.token("organiser", ["EE"])}
    assert (await system.evaluation.get("/staff/questions", headers=organiser)).status_code == 403
    page = await system.evaluation.get("/staff/questions", headers={**HTML, **system.token()})
    assert page.status_code == 200 and "Version 1" in page.text and "built in" in page.text
    fields = form_of(page.text, "/staff/questions")
    fields["questions-0-text"] = "Changed by an organiser?"
    posted = await system.evaluation.post("/staff/questions", data=fields, headers=organiser)
    assert posted.status_code == 403
    # Without the form's CSRF token nothing is saved either, whoever sends it.
    del fields["_csrf_token"]
    posted = await system.evaluation.post(
        "/staff/questions", data=fields, headers={**HTML, **system.token()}
    )
    assert posted.status_code == 403
    assert await bank_versions(system) == 0


async def test_saving_the_bank_makes_a_new_version_and_an_old_report_keeps_its_questions(
    any_evaluation: System,
) -> None:
    system = any_evaluation
    training, _ = await completed_training(system, ["Mari Tamm"])
    secretariat, fields = await bank_form(system)
    assert fields["questions-0-id"] == "overall"
    fields["questions-0-text"] = "All in all, how good was the training?"
    fields["questions-4-remove"] = "on"  # length
    fields["questions-7-position"] = "1"  # comments first
    fields["questions-new-text"] = "Which part helped you most?"
    fields["questions-new-kind"] = "single"
    fields["questions-new-options"] = "Lectures\nworkshops: The workshops"
    fields["questions-new-position"] = "3"
    saved = await system.evaluation.post(
        "/staff/questions", data=fields, headers=secretariat, follow_redirects=False
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/staff/questions?saved=2"

    bank = (await system.evaluation.get("/questions", headers=system.token())).json()
    assert bank["version"] == 2 and bank["created_by"]
    assert [q["id"] for q in bank["questions"]] == [
        "comments",
        "overall",
        "relevance",
        "which_part_helped_you_most",
        "organisation",
        "recommend",
        "confidence",
        "intended_use",
    ]
    assert bank["questions"][1]["text"] == "All in all, how good was the training?"
    assert bank["questions"][3]["options"] == [
        {"id": "lectures", "text": "Lectures"},
        {"id": "workshops", "text": "The workshops"},
    ]
    shown = await system.evaluation.get("/staff/questions?saved=2", headers=secretariat)
    assert "Version 2</strong>, made " in shown.text and "Saved as version 2" in shown.text

    # The report of the evaluation that opened with version 1 asks what version 1 asked.
    report = await system.evaluation.get(f"/reports/{training.id}", headers=secretariat)
    assert "version 1</a>" in report.text
    assert "Overall, how satisfied are you with the training?" in report.text
    assert "All in all, how good was the training?" not in report.text
    old = await system.evaluation.get("/staff/questions?version=1", headers=secretariat)
    assert "Overall, how satisfied are you with the training?" in old.text
    assert 'action="/staff/questions"' not in old.text  # an earlier version is read only


async def test_a_refused_bank_edit_shows_its_reason_beside_the_field_and_saves_nothing(
    evaluation: System,
) -> None:
    system = evaluation
    secretariat, fields = await bank_form(system)
    fields["questions-1-kind"] = "text"  # relevance was a rating: its results would not compare
    posted = await system.evaluation.post("/staff/questions", data=fields, headers=secretariat)
    assert posted.status_code == 422
    assert re.search(
        r'<p class="error" id="questions-1-kind-error">question &#39;relevance&#39; was a likert',
        posted.text,
    )
    assert 'aria-describedby="questions-1-kind-error" aria-invalid="true"' in posted.text
    assert await bank_versions(system) == 0


# --- a training's own questions -----------------------------------------------------------


async def test_host_organisers_set_objectives_and_extra_questions_until_the_evaluation_opens(
    any_evaluation: System,
) -> None:
    system = any_evaluation
    training = await published_with_a_lecture(system, "Identifying victims")
    path = f"/reports/{training.id}/questions"
    stranger = {**HTML, **system.token("organiser", ["LV"])}
    assert (await system.evaluation.get(path, headers=stranger)).status_code == 403
    host = {**HTML, **system.token("organiser", ["EE"])}
    page = await system.evaluation.get(path, headers=host)
    assert page.status_code == 200

    objectives = {"_csrf_token": csrf_of(page.text), "objectives": "Spot the signs\r\n\r\nRefer"}
    refused = await system.evaluation.post(
        f"/reports/{training.id}/objectives", data=objectives, headers=stranger
    )
    assert refused.status_code == 403
    no_csrf = {"objectives": "Spot the signs"}
    refused = await system.evaluation.post(
        f"/reports/{training.id}/objectives", data=no_csrf, headers=host
    )
    assert refused.status_code == 403
    saved = await system.evaluation.post(
        f"/reports/{training.id}/objectives",
        data=objectives,
        headers=host,
        follow_redirects=False,
    )
    assert saved.status_code == 303

    fields = form_of(page.text, f"/reports/{training.id}/extra-questions")
    fields |= {
        "questions-new-text": "Was the interpretation clear?",
        "questions-new-kind": "single",
        "questions-new-options": "yes: Yes\nno: No",
    }
    extras = f"/reports/{training.id}/extra-questions"
    assert (await system.evaluation.post(extras, data=fields, headers=stranger)).status_code == 403
    unsigned = {k: v for k, v in fields.items() if k != "_csrf_token"}
    assert (await system.evaluation.post(extras, data=unsigned, headers=host)).status_code == 403
    assert await sql(system, "SELECT extra_questions FROM training") in ([("[]",)], [([],)])
    saved = await system.evaluation.post(
        f"/reports/{training.id}/extra-questions", data=fields, headers=host
    )
    assert saved.status_code == 200 and "Extra questions saved" in saved.text
    asked = (
        await system.evaluation.get(f"/trainings/{training.id}/questions", headers=host)
    ).json()
    assert [o["text"] for o in asked["objectives"]] == ["Spot the signs", "Refer"]
    assert [(q["id"], q["kind"]) for q in asked["extra_questions"]] == [
        ("was_the_interpretation_clear", "single")
    ]

    # An extra question of a kind extras may not have: the reason beside its field.
    fields = form_of(saved.text, f"/reports/{training.id}/extra-questions")
    fields |= {"questions-new-text": "Recommend?", "questions-new-kind": "nps"}
    refused = await system.evaluation.post(
        f"/reports/{training.id}/extra-questions", data=fields, headers=host
    )
    assert refused.status_code == 422
    assert 'id="questions-new-kind-error"' in refused.text

    # Once the evaluation has opened its questions are fixed, and the page says why.
    await deliver(system, training.completed())
    page = await system.evaluation.get(path, headers=host)
    assert 'id="objectives-fixed">The evaluation of this training has opened' in page.text
    late = await system.evaluation.post(
        f"/reports/{training.id}/objectives",
        data={"_csrf_token": csrf_of(page.text), "objectives": "Something else"},
        headers=host,
    )
    assert late.status_code == 409 and "its questions are fixed" in late.text
    asked = (
        await system.evaluation.get(f"/trainings/{training.id}/questions", headers=host)
    ).json()
    assert [o["text"] for o in asked["objectives"]] == ["Spot the signs", "Refer"]


# --- the reports list -----------------------------------------------------------------------


async def test_the_reports_list_filters_by_series_year_and_country_and_names_series_by_title(
    any_evaluation: System,
) -> None:
    system = any_evaluation
    tallinn = Training(title="Tallinn 2031")
    riga = Training(country="LV", city="Riga", title="Riga 2030", day=date(2030, 9, 3))
    other = Training(series="cbss-cyber", title="Cyber 2031", city="Tartu")
    await deliver(
        system,
        tallinn.published(),
        riga.published(),
        msgspec.structs.replace(other.published(), series_title="Cyber security for consuls"),
    )
    secretariat = {**HTML, **system.token()}
    everything = await system.evaluation.get("/reports", headers=secretariat)
    assert all(t in everything.text for t in ("Tallinn 2031", "Riga 2030", "Cyber 2031"))
    assert '<option value="cbss-cyber">Cyber security for consuls</option>' in everything.text
    assert "<td>CBSS trainings on trafficking in human beings</td>" in everything.text
    assert ">cbss-cyber<" not in everything.text

    async def listed(query: str, headers: dict[str, str] = secretariat) -> set[str]:
        page = await system.evaluation.get(f"/reports?{query}", headers=headers)
        assert page.status_code == 200
        return {t for t in ("Tallinn 2031", "Riga 2030", "Cyber 2031") if t in page.text}

    assert await listed("series=cbss-thb&year=&country=") == {"Tallinn 2031", "Riga 2030"}
    assert await listed("series=&year=2030&country=") == {"Riga 2030"}
    assert await listed("country=EE") == {"Tallinn 2031", "Cyber 2031"}
    assert await listed("series=cbss-thb&year=2031&country=EE") == {"Tallinn 2031"}
    assert await listed("year=1999") == set()
    # An organiser's filters never reach beyond their countries.
    organiser = {**HTML, **system.token("organiser", ["LV"])}
    assert await listed("country=EE", organiser) == set()
    assert await listed("", organiser) == {"Riga 2030"}


# --- the report and the trends --------------------------------------------------------------


async def test_the_report_labels_sessions_by_day_and_time_and_shows_each_chart_as_a_table(
    evaluation: System,
) -> None:
    system = evaluation
    training = Training()
    first = training.session("Opening", "lecture", 7)
    second = training.session("Opening", "lecture", 7)
    second.starts_at += timedelta(days=1)
    second.ends_at += timedelta(days=1)
    names = ["Mari Tamm", "Jaan Kask", "Liis Saar"]
    training, tokens = await completed_training(system, names, training)
    for name, overall in zip(names, (5, 4, 2), strict=True):
        # Only two rate the second day's session: its figures stay withheld.
        rated = {f"session:{first.id}": overall}
        if name != "Liis Saar":
            rated[f"session:{second.id}"] = 3
        answers = overall_answers(overall, 9, intended_use=["brief_colleagues"], **rated)
        posted = await system.evaluation.post(f"/evaluations/{tokens[name]}", json=answers)
        assert posted.status_code == 201
    page = await system.evaluation.get(f"/reports/{training.id}", headers=system.token())
    html = page.text
    # 07:00 UTC is 10:00 in Tallinn; 12 May 2031 is a Monday.
    monday, tuesday = "Mon 12 May 10:00 \u2013 Opening", "Tue 13 May 10:00 \u2013 Opening"
    assert f'<tspan x="4" dy="0">{monday}</tspan>' in html
    assert f'<tspan x="4" dy="0">{tuesday}</tspan>' in html
    assert "<caption>Mean rating per session (1 to 5)</caption>" in html
    assert f'<th scope="row">{monday}</th><td>3.67 (n=3)</td>' in html
    assert f'<th scope="row">{tuesday}</th><td>withheld (n=2)</td>' in html
    # Every option of a choice question is in its table, those nobody chose at 0.
    assert '<th scope="row">Not sure yet</th><td>0</td>' in html
    assert '<th scope="row">Brief my colleagues</th><td>3</td>' in html

    trends = await system.evaluation.get("/reports/series/cbss-thb", headers=system.token())
    assert "Tallinn 2031-05-12: Not sure yet</th><td>0% (0/3)</td>" in trends.text
    assert "Tallinn 2031-05-12: Brief my colleagues</th><td>100% (3/3)</td>" in trends.text


async def test_reminders_from_the_report_page_need_the_tick_and_the_secretariat(
    evaluation: System,
) -> None:
    system = evaluation
    training, _ = await completed_training(system, ["Mari Tamm"])
    path = f"/reports/{training.id}/reminders"
    secretariat = {**HTML, **system.token()}
    page = await system.evaluation.get(path, headers=secretariat)
    assert page.status_code == 200 and 'name="confirm" required' in page.text
    csrf = csrf_of(page.text)
    organiser = {**HTML, **system.token("organiser", ["EE"])}
    assert (await system.evaluation.get(path, headers=organiser)).status_code == 403
    posted = await system.evaluation.post(
        path, data={"_csrf_token": csrf, "confirm": "on"}, headers=organiser
    )
    assert posted.status_code == 403
    posted = await system.evaluation.post(path, data={"confirm": "on"}, headers=secretariat)
    assert posted.status_code == 403  # no CSRF token
    unticked = await system.evaluation.post(path, data={"_csrf_token": csrf}, headers=secretariat)
    assert unticked.status_code == 422 and "Tick the box to confirm" in unticked.text
    assert await sql(system, "SELECT reminders_sent FROM invitation") == [(0,)]
    sent = await system.evaluation.post(
        path,
        data={"_csrf_token": csrf, "confirm": "on"},
        headers=secretariat,
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/reports/{training.id}?reminded=1"
    assert await sql(system, "SELECT reminders_sent FROM invitation") == [(1,)]


# --- in a real browser ----------------------------------------------------------------------

LONG_SESSION = (
    "Identifying and referring presumed victims of trafficking in human beings at the consular "
    "counter, with the cases of the Baltic Sea region's missions from the last three years"
)
# Every label of every chart ends inside its chart: none is cut, none runs over.
LABELS_INSIDE = """() => [...document.querySelectorAll('svg.chart')].every(svg => {
  const edge = svg.getBoundingClientRect().right + 0.5;
  return [...svg.querySelectorAll('text')].every(t => t.getBoundingClientRect().right <= edge);
})"""


async def signed_in(tab: Any, url: str, token: str) -> None:
    """Sign in with a pasted token, as API users do (a signed-out visit is sent to
    scheduling's sign-in page, which this test does not serve)."""
    parts = urlsplit(url)
    await sign_in_with_token(tab, f"{parts.scheme}://{parts.netloc}", parts.path, token)


async def fine_on_both_screens(tab: Any, url: str) -> None:
    """No serious or critical accessibility violation and no sideways scrolling, on a phone
    and on a desktop."""
    for width, height in ((390, 844), (1280, 900)):
        await tab.set_viewport_size({"width": width, "height": height})
        await tab.goto(url)
        assert await accessibility_violations(tab) == [], (url, width)
        fits = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        assert await tab.evaluate(fits), (url, width)
        assert await tab.evaluate(LABELS_INSIDE), (url, width)


@pytest.mark.browser
async def test_the_secretariat_edits_the_bank_and_an_organiser_adds_questions_in_a_browser(
    tmp_path: Path,
) -> None:
    async with served_alone(tmp_path, "evaluation") as (system, url):
        done = Training()
        long_session = done.session(LONG_SESSION, "lecture", 9)
        names = ["Mari Tamm", "Jaan Kask", "Liis Saar"]
        done, tokens = await completed_training(system, names, done)
        for name, overall in zip(names, (5, 4, 2), strict=True):
            answers = overall_answers(overall, 9, **{f"session:{long_session.id}": overall})
            posted = await system.evaluation.post(f"/evaluations/{tokens[name]}", json=answers)
            assert posted.status_code == 201
        coming = Training(title="Consular crisis response", day=date(2031, 9, 1))
        await deliver(system, coming.published())

        def bearer(headers: dict[str, str]) -> str:
            return headers["Authorization"].removeprefix("Bearer ")

        async with browser_page() as tab:
            await signed_in(tab, f"{url}/staff/questions", bearer(system.token()))
            await fine_on_both_screens(tab, f"{url}/staff/questions")
            first = tab.locator("#questions-0")
            await first.get_by_label("Question", exact=True).fill(
                "All in all, how good was the training?"
            )
            added = tab.locator("#questions-new")
            await added.get_by_label("Question", exact=True).fill("What surprised you?")
            await added.get_by_label("Kind").select_option("text")
            await tab.get_by_role("button", name="Save as a new version").click()
            await tab.wait_for_selector("text=Saved as version 2.")
            await fine_on_both_screens(tab, f"{url}/staff/questions")
            await fine_on_both_screens(tab, f"{url}/staff/questions?version=1")

            await fine_on_both_screens(tab, f"{url}/reports")
            await fine_on_both_screens(tab, f"{url}/reports?series=cbss-thb&year=2031")
            await fine_on_both_screens(tab, f"{url}/reports/{done.id}")
            # The long session title wraps onto several lines, whole.
            label = tab.locator("svg.chart text.label", has_text="Identifying and referring")
            assert await label.locator("tspan").count() >= 3
            assert " ".join(await label.locator("tspan").all_text_contents()).endswith(
                "from the last three years"
            )
            # The old report still shows the questions of version 1.
            assert await tab.get_by_text("Overall, how satisfied are you").count() >= 1
            await fine_on_both_screens(tab, f"{url}/reports/{done.id}/reminders")
            await fine_on_both_screens(tab, f"{url}/reports/series/cbss-thb")

        async with browser_page() as tab:
            organiser = bearer(system.token("organiser", ["EE"]))
            page = f"{url}/reports/{coming.id}/questions"
            await signed_in(tab, page, organiser)
            await fine_on_both_screens(tab, page)
            await tab.get_by_label("Objectives").fill("Run a crisis call\nBrief a family")
            await tab.get_by_role("button", name="Save the objectives").click()
            await tab.wait_for_selector("text=Learning objectives saved.")
            added = tab.locator("#questions-new")
            await added.get_by_label("Question", exact=True).fill("Was the simulation useful?")
            await added.get_by_label("Kind").select_option("single")
            await added.get_by_label("Options").fill("Yes\nPartly\nNo")
            await tab.get_by_role("button", name="Save the extra questions").click()
            await tab.wait_for_selector("text=Extra questions saved.")
            await fine_on_both_screens(tab, page)
            await fine_on_both_screens(tab, f"{url}/reports/{done.id}/questions")
            await fine_on_both_screens(tab, f"{url}/reports")

        asked = (
            await system.evaluation.get(
                f"/trainings/{coming.id}/questions", headers=system.token("organiser", ["EE"])
            )
        ).json()
        assert [o["text"] for o in asked["objectives"]] == ["Run a crisis call", "Brief a family"]
        (extra,) = asked["extra_questions"]
        assert extra["text"] == "Was the simulation useful?"
        assert [o["text"] for o in extra["options"]] == ["Yes", "Partly", "No"]
        bank = (await system.evaluation.get("/questions", headers=system.token())).json()
        assert bank["version"] == 2
        assert bank["questions"][0]["text"] == "All in all, how good was the training?"
        assert bank["questions"][-1]["id"] == "what_surprised_you"


async def test_bad_bank_forms_are_refused_naming_the_field_and_a_form_without_change_saves_none(
    evaluation: System,
) -> None:
    system = evaluation
    secretariat, shown = await bank_form(system)
    same = await system.evaluation.post("/staff/questions", data=shown, headers=secretariat)
    assert same.status_code == 200 and "Nothing changed: the bank stays at version 1" in same.text
    bad = {
        "questions-0-level": "9",
        "questions-1-kind": "essay",
        "questions-2-id": "Not A Slug",
        "questions-4-options": "too_short: Too short",
        "questions-3-text": "x" * 5001,
        "questions-new-options": "\n".join(f"Option {n}" for n in range(25)),
        "questions-5-position": "first",
    }
    for name, value in bad.items():
        fields = shown | {name: value}
        if name.startswith("questions-new"):
            fields |= {"questions-new-text": "Which?", "questions-new-kind": "multiple"}
        posted = await system.evaluation.post("/staff/questions", data=fields, headers=secretariat)
        if name.endswith("position"):
            # An unreadable position keeps the question where it was.
            assert posted.status_code == 200, name
            continue
        assert posted.status_code == 422, name
        assert f'id="{name}-error"' in posted.text, name
    assert await bank_versions(system) == 0


# --- the pure parts: chart layout and the editors' forms ------------------------------------


def test_a_long_chart_label_wraps_whole_onto_lines_and_pushes_the_next_row_down() -> None:
    long = "Contact partners I met here, in the ministries and in the organisations " * 2
    chart = charts.bar_chart("Intended use", [(long, 2.0, "2", ""), ("Other", 1.0, "1", "")], 0, 2)
    first, second = chart.bars
    assert len(first.lines) >= 3
    assert all(len(line) <= charts.LABEL_CHARS for line in first.lines)
    assert " ".join(first.lines) == long.strip()
    assert second.top == charts.LINE * len(first.lines) + charts.BAR
    assert chart.height == second.top + charts.LINE + charts.BAR + 6


def test_a_choice_question_charts_every_option_even_those_nobody_chose() -> None:
    chosen = {"about_right": 4}
    trend = TrendQuestion(
        id="length",
        kind="single",
        text="The length of the training was",
        level=1,
        options={"too_short": "Too short", "about_right": "About right", "too_long": "Too long"},
        editions=[TrendPoint(training_id="t1", n=4, withheld=False, distribution=chosen)],
        series=TrendPoint(training_id="", n=4, withheld=False, distribution=chosen),
    )
    chart = charts.trend(trend, {"t1": "Tallinn 2031-05-12"})
    assert [(b.label, b.display) for b in chart.bars] == [
        ("Tallinn 2031-05-12: Too short", "0% (0/4)"),
        ("Tallinn 2031-05-12: About right", "100% (4/4)"),
        ("Tallinn 2031-05-12: Too long", "0% (0/4)"),
    ]
    pooled = charts.pooled(trend)
    assert pooled is not None
    assert [b.display for b in pooled.bars] == ["0", "4", "0"]


def test_the_editor_reads_options_with_and_without_ids_and_orders_moved_questions_first() -> None:
    assert question_forms.options_of("keep: Kept text\r\nBrand new one\n\n2 weeks") == [
        {"id": "keep", "text": "Kept text"},
        {"id": "brand_new_one", "text": "Brand new one"},
        {"id": "option_3_2_weeks", "text": "2 weeks"},
    ]
    form = {
        "questions-0-text": "First",
        "questions-0-position": "1",
        "questions-1-text": "Second",
        "questions-1-position": "2",
        "questions-2-text": "Third, moved up",
        "questions-2-position": "1",
        "questions-3-text": "Gone",
        "questions-3-remove": "on",
        "questions-new-text": "",
    }
    drafts = question_forms.read_drafts(form, "questions")
    assert [d.text for d in drafts] == ["Third, moved up", "First", "Second"]
    assert question_forms.form_field("questions[1].options[0].id", {"questions": drafts}) == (
        "questions-0-options"
    )
