"""Reports and trends: small groups, permissions, CSV, bank versions, a training's questions."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from services.evaluation import jobs
from services.evaluation.questions import BANK_V1
from services.evaluation.settings import own
from shared.clock import clock
from tests.evaluation_support import (
    MATERIALS_QUESTION,
    TRAINING_DAY,
    Training,
    apply,
    completed_training,
    published_with_a_lecture,
    sql,
)
from tests.support import System


async def answer(system: System, token: str, **answers: Any) -> None:
    response = await system.evaluation.post(f"/evaluations/{token}", json={"answers": answers})
    assert response.status_code == 201, response.text


async def report_of(system: System, training: Training) -> dict[str, Any]:
    response = await system.evaluation.get(
        f"/trainings/{training.id}/report", headers=system.token()
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def question(report: dict[str, Any], question_id: str) -> dict[str, Any]:
    return next(q for q in report["questions"] if q["id"] == question_id)


async def test_fewer_than_three_responses_show_only_counts(evaluation: System) -> None:
    system = evaluation
    training, tokens = await completed_training(system, ["Mari Tamm", "Jaan Kask", "Liis Saar"])
    await answer(system, tokens["Mari Tamm"], overall=5, recommend=10, comments="Great")
    await answer(system, tokens["Jaan Kask"], overall=1, recommend=0, comments="Poor")
    report = await report_of(system, training)
    # Two answers are no step: nothing is released while the evaluation is open.
    assert (report["invited"], report["answered"], report["withheld"]) == (3, 0, True)
    # At the close both count as answered, but their answers never reach a figure.
    clock.advance(own(system.settings).open_for)
    await apply(system, jobs.close_due_campaigns)  # or the schedule did it first
    report = await report_of(system, training)
    assert (report["invited"], report["answered"], report["response_rate"]) == (3, 2, 0.6667)
    assert report["withheld"] is True
    assert report["recommendation"] is None and report["comments"] == []
    overall = question(report, "overall")
    assert overall["n"] == 0 and overall["withheld"] is True
    assert overall["mean"] is None and overall["distribution"] is None
    assert all(s["mean"] is None for s in report["sessions"])
    assert report["learning"]["gain"] is None
    csv_text = (
        await system.evaluation.get(f"/trainings/{training.id}/report.csv", headers=system.token())
    ).text
    assert "Great" not in csv_text and "Poor" not in csv_text
    rows = {r["question_id"]: r for r in csv.DictReader(io.StringIO(csv_text))}
    assert rows["overall"]["mean"] == "" and rows["overall"]["withheld"] == "yes"


async def test_a_breakdown_of_fewer_than_three_answers_is_withheld(evaluation: System) -> None:
    system = evaluation
    names = ["Mari Tamm", "Jaan Kask", "Liis Saar"]
    training, tokens = await completed_training(system, names)
    form = (await system.evaluation.get(f"/evaluations/{tokens['Mari Tamm']}")).json()
    first, second = [q["id"] for q in form["questions"] if q["id"].startswith("session:")]
    await answer(system, tokens["Mari Tamm"], overall=5, recommend=9, **{first: 5, second: 4})
    await answer(system, tokens["Jaan Kask"], overall=4, recommend=9, **{first: 4, second: 2})
    await answer(system, tokens["Liis Saar"], overall=3, recommend=6, **{first: 3})
    report = await report_of(system, training)
    assert report["withheld"] is False
    by_session = {s["session_id"]: s for s in report["sessions"]}
    rated = by_session[first.removeprefix("session:")]
    assert (rated["n"], rated["mean"], rated["median"], rated["withheld"]) == (3, 4.0, 4.0, False)
    assert rated["title"] == "Identifying victims at the consulate"
    thin = by_session[second.removeprefix("session:")]
    assert (thin["n"], thin["mean"], thin["withheld"]) == (2, None, True)
    assert question(report, second)["distribution"] is None


async def test_who_may_see_and_do_what(evaluation: System) -> None:
    system = evaluation
    training, _ = await completed_training(system, ["Mari Tamm"])
    secretariat = system.token()
    host = system.token("organiser", ["EE"])
    other = system.token("organiser", ["LV"])
    path = f"/trainings/{training.id}"

    assert (await system.evaluation.get(f"{path}/report")).status_code == 401
    assert (await system.evaluation.get(f"{path}/report", headers=other)).status_code == 403
    assert (await system.evaluation.get(f"{path}/report.csv", headers=other)).status_code == 403
    assert (await system.evaluation.get(f"{path}/report", headers=host)).status_code == 200
    assert (await system.evaluation.get(f"{path}/report", headers=secretariat)).status_code == 200
    unknown = await system.evaluation.get("/trainings/no-such-training/report", headers=secretariat)
    assert unknown.status_code == 404
    forged = {"Authorization": "Bearer not.a.token"}
    assert (await system.evaluation.get(f"{path}/report", headers=forged)).status_code == 401

    assert (await system.evaluation.get("/series/cbss-thb/trends")).status_code == 401
    assert (await system.evaluation.get("/series/cbss-thb/trends", headers=host)).status_code == 403
    assert (
        await system.evaluation.get("/series/cbss-thb/trends", headers=secretariat)
    ).status_code == 200
    assert (
        await system.evaluation.get("/series/no-such-series/trends", headers=secretariat)
    ).status_code == 404
    assert (await system.evaluation.post(f"{path}/reminders", headers=host)).status_code == 403
    assert (await system.evaluation.get(f"{path}/invitations", headers=host)).status_code == 403

    bank = {"questions": [{"id": "overall", "kind": "likert", "text": "Satisfied?", "level": 1}]}
    assert (await system.evaluation.put("/questions", json=bank)).status_code == 401
    assert (await system.evaluation.put("/questions", json=bank, headers=host)).status_code == 403
    assert (await system.evaluation.get("/questions")).status_code == 401
    assert (await system.evaluation.get("/questions", headers=host)).status_code == 200
    # Authorisation comes before validation: a malformed body from the wrong organiser gets 403.
    assert (
        await system.evaluation.put(f"{path}/objectives", json={"nonsense": 1}, headers=other)
    ).status_code == 403
    assert (
        await system.evaluation.put(f"{path}/objectives", json={"nonsense": 1}, headers=host)
    ).status_code == 400


async def test_the_csv_report_carries_the_figures_of_the_json_report(evaluation: System) -> None:
    system = evaluation
    names = ["Mari Tamm", "Jaan Kask", "Liis Saar"]
    training, tokens = await completed_training(system, names)
    for name, (overall, recommend) in zip(names, [(5, 10), (4, 9), (2, 3)], strict=True):
        await answer(
            system, tokens[name], overall=overall, recommend=recommend, comments="=HYPERLINK(1)"
        )
    report = await report_of(system, training)
    response = await system.evaluation.get(
        f"/trainings/{training.id}/report.csv", headers=system.token()
    )
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    by_id = {r["question_id"]: r for r in rows if r["kind"] != "comment"}
    assert by_id["invited"]["n"] == "3" and by_id["answered"]["n"] == "3"
    figures = question(report, "overall")
    assert float(by_id["overall"]["mean"]) == figures["mean"] == 3.67
    assert float(by_id["overall"]["median"]) == figures["median"] == 4.0
    assert by_id["overall"]["distribution"] == "1=0 2=1 3=0 4=1 5=1"
    assert float(by_id["recommend"]["score"]) == report["recommendation"]["score"] == 33.3
    comments = [r["text"] for r in rows if r["kind"] == "comment"]
    # A comment that looks like a formula is quoted so a spreadsheet will not run it.
    assert comments == ["'=HYPERLINK(1)"] * 3


async def test_editing_the_bank_makes_a_version_and_leaves_past_results(evaluation: System) -> None:
    system = evaluation
    names = ["Mari Tamm", "Jaan Kask", "Liis Saar"]
    first, tokens = await completed_training(system, names)
    for name in names:
        await answer(system, tokens[name], overall=4, recommend=9, organisation=5)

    current = (await system.evaluation.get("/questions", headers=system.token())).json()
    assert current["version"] == 1
    edited = [q for q in current["questions"] if q["id"] != "organisation"]
    for q in edited:
        for field in ("min", "max", "session_id", "objective_id"):
            q.pop(field, None)
    edited[0]["text"] = "All in all, how satisfied are you with the training?"
    edited.insert(
        1,
        {
            "id": "venue",
            "kind": "single",
            "text": "Was the venue easy to reach?",
            "level": 1,
            "options": [{"id": "yes", "text": "Yes"}, {"id": "no", "text": "No"}],
        },
    )
    follow_up = [
        {k: v for k, v in q.items() if k not in ("min", "max")} for q in current["follow_up"]
    ]
    body = {"questions": edited, "follow_up": follow_up}
    put = await system.evaluation.put("/questions", json=body, headers=system.token())
    assert put.status_code == 200, put.text
    assert put.json()["version"] == 2
    again = await system.evaluation.put("/questions", json=body, headers=system.token())
    assert again.json()["version"] == 2, "an identical bank is not a new version"

    changed_kind = {"questions": [{**edited[0], "kind": "nps"}], "follow_up": []}
    refused = await system.evaluation.put("/questions", json=changed_kind, headers=system.token())
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "questions[0].kind"

    past = await report_of(system, first)
    assert past["questionnaire_version"] == 1
    assert question(past, "overall")["text"] == BANK_V1.questions[0].text
    assert question(past, "organisation")["mean"] == 5.0
    assert (await system.evaluation.get("/questions?version=1", headers=system.token())).json()[
        "questions"
    ][0]["text"] == BANK_V1.questions[0].text

    second, more = await completed_training(
        system, ["Peeter Org"], Training(country="LV", city="Riga")
    )
    form = (await system.evaluation.get(f"/evaluations/{more['Peeter Org']}")).json()
    ids = [q["id"] for q in form["questions"]]
    assert "venue" in ids and "organisation" not in ids
    assert form["questions"][0]["text"].startswith("All in all")
    assert (await report_of(system, second))["questionnaire_version"] == 2


async def test_a_trainings_own_questions_are_fixed_once_its_evaluation_opens(
    evaluation: System,
) -> None:
    system = evaluation
    training = await published_with_a_lecture(system, "Identifying victims at the consulate")
    host = system.token("organiser", ["EE"])
    path = f"/trainings/{training.id}"
    preview = (await system.evaluation.get(f"{path}/questions", headers=host)).json()
    assert preview["fixed"] is False and preview["objectives_derived"] is True
    assert [o["text"] for o in preview["objectives"]] == ["Identifying victims at the consulate"]

    objectives = await system.evaluation.put(
        f"{path}/objectives",
        json={"objectives": ["Recognise indicators of trafficking", "Refer a presumed victim"]},
        headers=host,
    )
    assert objectives.status_code == 200, objectives.text
    extra = {"questions": [MATERIALS_QUESTION]}
    extras = await system.evaluation.put(f"{path}/questions", json=extra, headers=host)
    assert extras.status_code == 200, extras.text
    ids = [q["id"] for q in extras.json()["questionnaire"]]
    assert {"objective:o1", "objective:o2", "extra:materials"} <= set(ids)
    bad = {"questions": [{**extra["questions"][0], "kind": "nps", "options": []}]}
    assert (
        await system.evaluation.put(f"{path}/questions", json=bad, headers=host)
    ).status_code == 422

    names = ["Mari Tamm", "Jaan Kask", "Liis Saar"]
    _, tokens = await completed_training(system, names, training)
    host = system.token("organiser", ["EE"])  # minted after the clock moved to the training
    assert (
        await system.evaluation.put(f"{path}/objectives", json={"objectives": []}, headers=host)
    ).status_code == 409
    assert (await system.evaluation.get(f"{path}/questions", headers=host)).json()["fixed"] is True
    ratings = [
        ({"before": 2, "now": 4}, {"before": 1, "now": 4}),
        ({"before": 3, "now": 4}, {"before": 2, "now": 3}),
        ({"before": 1, "now": 3}, {"before": 2, "now": 2}),
    ]
    for name, (o1, o2) in zip(names, ratings, strict=True):
        await answer(
            system,
            tokens[name],
            overall=4,
            recommend=8,
            **{"objective:o1": o1, "objective:o2": o2, "extra:materials": "yes"},
        )
    report = await report_of(system, training)
    learning = report["learning"]
    by_objective = {o["objective_id"]: o for o in learning["objectives"]}
    assert (
        by_objective["o1"]["before"],
        by_objective["o1"]["now"],
        by_objective["o1"]["gain"],
    ) == (2.0, 3.67, 1.67)
    assert (
        by_objective["o2"]["before"],
        by_objective["o2"]["now"],
        by_objective["o2"]["gain"],
    ) == (1.67, 3.0, 1.33)
    assert (learning["before"], learning["now"], learning["gain"]) == (1.83, 3.33, 1.5)
    assert question(report, "extra:materials")["distribution"] == {"yes": 3, "no": 0}


async def test_series_totals_leave_out_withheld_editions(evaluation: System) -> None:
    system = evaluation
    _, tokens = await completed_training(system, ["A One", "B Two", "C Three"])
    for name, overall in zip(["A One", "B Two", "C Three"], [5, 4, 3], strict=True):
        await answer(system, tokens[name], overall=overall, relevance=overall, recommend=9)
    later = TRAINING_DAY + timedelta(days=7)
    _, few = await completed_training(
        system, ["D Four", "E Five", "F Six"], Training(country="LV", city="Riga", day=later)
    )
    # Riga is released (three answers), but only two of them rate the relevance.
    for name, rated in [("D Four", True), ("E Five", True), ("F Six", False)]:
        await answer(
            system, few[name], overall=1, recommend=0, **({"relevance": 1} if rated else {})
        )
    trend = (await system.evaluation.get("/series/cbss-thb/trends", headers=system.token())).json()
    assert [e["city"] for e in trend["editions"]] == ["Tallinn", "Riga"]
    overall = next(q for q in trend["questions"] if q["id"] == "overall")
    assert [(e["n"], e["mean"]) for e in overall["editions"]] == [(3, 4.0), (3, 1.0)]
    assert (overall["series"]["n"], overall["series"]["mean"]) == (6, 2.5)
    relevance = next(q for q in trend["questions"] if q["id"] == "relevance")
    tallinn, riga = relevance["editions"]
    assert (tallinn["n"], tallinn["mean"], tallinn["withheld"]) == (3, 4.0, False)
    assert (riga["n"], riga["mean"], riga["withheld"]) == (2, None, True)
    # Adding Riga's two answers to the total would let anyone subtract them back out.
    assert (relevance["series"]["n"], relevance["series"]["mean"]) == (3, 4.0)
    assert [e["response_rate"] for e in trend["editions"]] == [1.0, 1.0]
    assert await sql(system, "SELECT COUNT(*) FROM response") == [(6,)]
