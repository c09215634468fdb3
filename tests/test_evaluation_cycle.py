"""The whole evaluation cycle over the real broker, with a real SMTP server, on both databases.

Two editions of one series are scheduled, attended and completed through the
scheduling and registration services; evaluation invites the attendees by mail,
takes their answers, reminds the one who did not answer, closes, follows up
three months later, and reports figures that are checked to the last digit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.clock import clock
from tests.evaluation_support import MATERIALS_QUESTION
from tests.support import SmtpSink, System, eventually, running_system

DAY = date.today() + timedelta(days=30)


@pytest.fixture
async def cycle(tmp_path: Path, db_kind: str) -> AsyncIterator[tuple[System, SmtpSink]]:
    with SmtpSink() as mailbox:
        async with running_system(tmp_path, db_kind, SMTP_URL=mailbox.url) as system:
            yield system, mailbox


def email(name: str) -> str:
    return name.lower().replace(" ", ".") + "@mfa.example"


async def edition(
    system: System, country: str, venue: str, sessions: list[tuple[str, str, int]]
) -> tuple[str, dict[str, str]]:
    """Create and publish a training with these sessions; session ids by title."""
    organiser = system.token("organiser", [country])
    created = await system.scheduling.post(
        "/trainings",
        json={
            "series": "cbss-thb",
            "title": f"Trafficking in human beings: consular training ({country})",
            "host_country": country,
            "venue": venue,
            "starts_on": DAY.isoformat(),
            "ends_on": DAY.isoformat(),
            "capacity": 10,
        },
        headers=organiser,
    )
    assert created.status_code == 201, created.text
    training_id = created.json()["id"]
    session_ids = {}
    for title, kind, hour in sessions:
        made = await system.scheduling.post(
            f"/trainings/{training_id}/sessions",
            json={
                "title": title,
                "kind": kind,
                "starts_at": f"{DAY}T{hour:02d}:00:00",
                "ends_at": f"{DAY}T{hour:02d}:45:00",
            },
            headers=organiser,
        )
        assert made.status_code == 201, made.text
        session_ids[title] = made.json()["id"]
    published = await system.scheduling.post(f"/trainings/{training_id}/publish", headers=organiser)
    assert published.status_code == 200, published.text
    return training_id, session_ids


async def register(system: System, training_id: str, country: str, names: list[str]) -> list[str]:
    async def open_for_registration() -> bool:
        listed = (await system.registration.get("/trainings")).json()["items"]
        assert any(t["id"] == training_id for t in listed)
        return True

    await eventually(open_for_registration)
    ids = []
    for name in names:
        registered = await system.registration.post(
            f"/trainings/{training_id}/registrations",
            json={
                "name": name,
                "email": email(name),
                "organisation": f"Ministry of Foreign Affairs ({country})",
                "country": country,
                "consent": True,
            },
        )
        assert registered.status_code == 201, registered.text
        assert registered.json()["status"] == "confirmed"
        ids.append(registered.json()["id"])
    return ids


async def answer(system: System, token: str, answers: dict[str, Any]) -> None:
    response = await system.evaluation.post(f"/evaluations/{token}", json={"answers": answers})
    assert response.status_code == 201, response.text


async def test_the_whole_cycle_from_completion_to_series_trend(
    cycle: tuple[System, SmtpSink],
) -> None:
    system, mailbox = cycle
    tallinn, tallinn_sessions = await edition(
        system,
        "EE",
        "Ministry of Foreign Affairs, Islandi väljak 1",
        [
            ("Identifying victims at the consulate", "lecture", 9),
            ("Coffee", "break", 10),
            ("Referral in practice", "workshop", 11),
            ("A panel that did not happen", "panel", 14),
        ],
    )
    ee = system.token("organiser", ["EE"])
    dropped = tallinn_sessions["A panel that did not happen"]
    cancelled = await system.scheduling.post(
        f"/trainings/{tallinn}/sessions/{dropped}/cancel", headers=ee
    )
    assert cancelled.status_code == 200, cancelled.text
    riga, _ = await edition(
        system,
        "LV",
        "Ministry of Foreign Affairs, K. Valdemāra iela 3",
        [("Legal framework", "lecture", 10)],
    )

    async def known_to_evaluation() -> bool:
        response = await system.evaluation.get(f"/trainings/{tallinn}/questions", headers=ee)
        assert response.status_code == 200, response.text
        rated = [q for q in response.json()["questionnaire"] if q.get("session_id")]
        # The break and the cancelled panel get no rating question.
        assert [q["session_id"] for q in rated] == [
            tallinn_sessions["Identifying victims at the consulate"],
            tallinn_sessions["Referral in practice"],
        ]
        return True

    await eventually(known_to_evaluation)
    objectives = await system.evaluation.put(
        f"/trainings/{tallinn}/objectives",
        json={"objectives": ["Recognise indicators of trafficking", "Refer a presumed victim"]},
        headers=ee,
    )
    assert objectives.status_code == 200, objectives.text
    # Text of the questionnaire is one line, like every title: no CR/LF, NUL or bidi override.
    for text in ("Refer\r\nBcc: evil@evil.example", "Refer\x00", "Refer \u202eevil"):
        refused = await system.evaluation.put(
            f"/trainings/{tallinn}/objectives", json={"objectives": [text]}, headers=ee
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "objectives[0]", refused.json()
    extra = await system.evaluation.put(
        f"/trainings/{tallinn}/questions",
        json={"questions": [MATERIALS_QUESTION]},
        headers=ee,
    )
    assert extra.status_code == 200, extra.text

    # Six: evaluations are released in steps of three, so all their answers are in the figures.
    estonians = ["Mari Tamm", "Jaan Kask", "Liis Saar", "Peeter Org", "Kadri Kuusk", "Toomas Ilves"]
    latvians = ["Anna Ozola", "Janis Berzins", "Ilze Kalnina", "Martins Liepa"]
    ee_registrations = await register(system, tallinn, "EE", estonians)
    lv_registrations = await register(system, riga, "LV", latvians)

    # The training day, 08:00 UTC: it has begun in Tallinn and in Riga.
    clock.set(datetime(DAY.year, DAY.month, DAY.day, 8, tzinfo=UTC))
    ee, lv = system.token("organiser", ["EE"]), system.token("organiser", ["LV"])
    for registration_id in ee_registrations:
        checked = await system.registration.post(
            f"/registrations/{registration_id}/check-in", headers=ee
        )
        assert checked.status_code == 200, checked.text
    for registration_id in lv_registrations:
        checked = await system.registration.post(
            f"/registrations/{registration_id}/check-in", headers=lv
        )
        assert checked.status_code == 200, checked.text
    for training_id, token in ((tallinn, ee), (riga, lv)):
        completed = await system.scheduling.post(
            f"/trainings/{training_id}/complete", headers=token
        )
        assert completed.status_code == 200, completed.text

    links = {name: await mailbox.link(email(name), "How was") for name in estonians + latvians}
    assert len(set(links.values())) == 10

    form = (await system.evaluation.get(f"/evaluations/{links['Mari Tamm']}")).json()
    ids = [q["id"] for q in form["questions"]]
    s1 = f"session:{tallinn_sessions['Identifying victims at the consulate']}"
    s2 = f"session:{tallinn_sessions['Referral in practice']}"
    assert {s1, s2, "objective:o1", "objective:o2", "extra:materials"} <= set(ids)
    assert ids[-1] == "comments"

    # One of them saves a draft first and finishes later.
    saved = await system.evaluation.put(
        f"/evaluations/{links['Jaan Kask']}", json={"answers": {"overall": 3}}
    )
    assert saved.status_code == 200
    estonian_answers = {
        "Mari Tamm": {
            "overall": 5, "recommend": 10, s1: 5, s2: 4,
            "objective:o1": {"before": 2, "now": 4}, "objective:o2": {"before": 1, "now": 4},
            "length": "about_right", "intended_use": ["brief_colleagues", "handle_cases"],
            "extra:materials": "yes", "comments": "Keep the case studies.",
        },
        "Jaan Kask": {
            "overall": 4, "recommend": 9, s1: 4, s2: 2,
            "objective:o1": {"before": 1, "now": 3}, "objective:o2": {"before": 2, "now": 4},
            "length": "too_short", "intended_use": ["brief_colleagues"],
            "extra:materials": "yes", "comments": "More time for questions.",
        },
        "Liis Saar": {
            "overall": 4, "recommend": 7, s1: 3,
            "objective:o1": {"before": 3, "now": 5}, "objective:o2": {"before": 2, "now": 3},
            "length": "about_right", "extra:materials": "no",
        },
        "Peeter Org": {
            "overall": 2, "recommend": 3,
            "objective:o1": {"before": 2, "now": 4}, "objective:o2": {"before": 1, "now": 2},
            "comments": "Too long a day.",
        },
        "Kadri Kuusk": {"overall": 3, "recommend": 9},
        "Toomas Ilves": {"overall": 4, "recommend": 6},
    }  # fmt: skip
    for name, answers in estonian_answers.items():
        await answer(system, links[name], answers)
    again = await system.evaluation.post(
        f"/evaluations/{links['Mari Tamm']}", json={"answers": {"overall": 1, "recommend": 0}}
    )
    assert again.status_code == 409
    for name, (overall, recommend) in zip(latvians[:3], [(5, 10), (5, 9), (4, 6)], strict=True):
        await answer(system, links[name], {"overall": overall, "recommend": recommend})

    secretariat = system.token()
    report = (
        await system.evaluation.get(f"/trainings/{tallinn}/report", headers=secretariat)
    ).json()
    assert (report["invited"], report["answered"], report["response_rate"]) == (6, 6, 1.0)
    assert report["withheld"] is False and report["status"] == "open"
    by_id = {q["id"]: q for q in report["questions"]}
    overall = by_id["overall"]
    assert (overall["n"], overall["mean"], overall["median"]) == (6, 3.67, 4.0)
    assert overall["distribution"] == {"1": 0, "2": 1, "3": 1, "4": 3, "5": 1}
    recommend = by_id["recommend"]
    assert (recommend["n"], recommend["mean"], recommend["median"]) == (6, 7.33, 8.0)
    assert report["recommendation"] == {
        "question_id": "recommend",
        "n": 6,
        "promoters": 3,
        "passives": 1,
        "detractors": 2,
        "score": 16.7,
    }
    sessions = {s["session_id"]: s for s in report["sessions"]}
    first, second = sessions[s1.removeprefix("session:")], sessions[s2.removeprefix("session:")]
    assert (first["title"], first["n"], first["mean"], first["median"]) == (
        "Identifying victims at the consulate", 3, 4.0, 4.0
    )  # fmt: skip
    assert (second["n"], second["withheld"], second["mean"]) == (2, True, None)
    learning = report["learning"]
    objectives_out = {o["objective_id"]: o for o in learning["objectives"]}
    assert (objectives_out["o1"]["before"], objectives_out["o1"]["now"]) == (2.0, 4.0)
    assert objectives_out["o1"]["gain"] == 2.0
    assert (objectives_out["o2"]["before"], objectives_out["o2"]["now"]) == (1.5, 3.25)
    assert objectives_out["o2"]["gain"] == 1.75
    assert (learning["before"], learning["now"], learning["gain"]) == (1.75, 3.62, 1.88)
    assert by_id["length"]["distribution"] == {"too_short": 1, "about_right": 2, "too_long": 0}
    assert (by_id["intended_use"]["n"], by_id["intended_use"]["withheld"]) == (2, True)
    assert by_id["extra:materials"]["distribution"] == {"yes": 2, "no": 1}
    assert report["comments"] == [
        {
            "question_id": "comments",
            "text": "What should we keep or change?",
            "comments": ["Keep the case studies.", "More time for questions.", "Too long a day."],
        }
    ]

    # A week on, the one Latvian who did not answer is reminded, and nobody else.
    clock.set(datetime(DAY.year, DAY.month, DAY.day, 8, tzinfo=UTC) + timedelta(days=7, hours=1))
    await mailbox.link(email("Martins Liepa"), "Reminder: your evaluation")
    assert all(
        not subject.startswith("Reminder")
        for name in estonians + latvians[:3]
        for subject, _ in mailbox.to(email(name))
    )

    # Three months on, both evaluations have closed and the follow-up goes out to all ten.
    clock.set(datetime(DAY.year, DAY.month, DAY.day, 8, tzinfo=UTC) + timedelta(days=91))
    later = {
        name: await mailbox.link(email(name), "Some months after") for name in estonians + latvians
    }
    follow_ups = {
        "Mari Tamm": {
            "applied": "often",
            "applied_how": ["identified_case", "briefed_colleagues"],
            "usefulness_now": 5,
        },
        "Jaan Kask": {
            "applied": "sometimes",
            "applied_how": ["briefed_colleagues"],
            "usefulness_now": 4,
        },
        "Liis Saar": {"applied": "not_yet", "usefulness_now": 3},
        "Anna Ozola": {"applied": "often", "usefulness_now": 5},
    }
    for name, answers in follow_ups.items():
        await answer(system, later[name], answers)

    secretariat = system.token()
    report = (
        await system.evaluation.get(f"/trainings/{tallinn}/report", headers=secretariat)
    ).json()
    assert report["status"] == "closed"
    follow_up = report["follow_up"]
    assert (follow_up["invited"], follow_up["answered"], follow_up["response_rate"]) == (6, 3, 0.5)
    later_by_id = {q["id"]: q for q in follow_up["questions"]}
    assert later_by_id["applied"]["distribution"] == {
        "often": 1, "sometimes": 1, "not_yet": 1, "no_occasion": 0
    }  # fmt: skip
    assert (later_by_id["usefulness_now"]["mean"], later_by_id["usefulness_now"]["median"]) == (
        4.0,
        4.0,
    )

    trend = (await system.evaluation.get("/series/cbss-thb/trends", headers=secretariat)).json()
    editions = {e["training_id"]: e for e in trend["editions"]}
    assert sorted(e["city"] for e in trend["editions"]) == ["Riga", "Tallinn"]
    assert (editions[tallinn]["invited"], editions[tallinn]["answered"]) == (6, 6)
    assert (
        editions[riga]["invited"],
        editions[riga]["answered"],
        editions[riga]["response_rate"],
    ) == (4, 3, 0.75)
    assert editions[tallinn]["recommendation_score"] == 16.7
    assert editions[riga]["recommendation_score"] == 33.3
    assert editions[tallinn]["learning_gain"] == 1.88
    assert editions[riga]["learning_gain"] is None
    assert {e["status"] for e in trend["editions"]} == {"closed"}
    trend_overall = next(q for q in trend["questions"] if q["id"] == "overall")
    points = {p["training_id"]: p for p in trend_overall["editions"]}
    assert (points[tallinn]["n"], points[tallinn]["mean"], points[tallinn]["median"]) == (
        6,
        3.67,
        4.0,
    )
    assert (points[riga]["n"], points[riga]["mean"], points[riga]["median"]) == (3, 4.67, 5.0)
    assert (trend_overall["series"]["n"], trend_overall["series"]["mean"]) == (9, 4.0)
    assert trend_overall["series"]["median"] == 4.0
    trend_recommend = next(q for q in trend["questions"] if q["id"] == "recommend")
    assert trend_recommend["series"]["score"] == 22.2
    later_editions = {e["training_id"]: e for e in trend["follow_up"]["editions"]}
    assert (later_editions[tallinn]["answered"], later_editions[tallinn]["withheld"]) == (3, False)
    # Riga's single follow-up answer is no step: not released, not counted while open.
    assert (later_editions[riga]["answered"], later_editions[riga]["withheld"]) == (0, True)
    applied = next(q for q in trend["follow_up"]["questions"] if q["id"] == "applied")
    # ... so it stays out of the series total.
    assert applied["series"]["n"] == 3
    assert applied["series"]["distribution"] == {
        "often": 1, "sometimes": 1, "not_yet": 1, "no_occasion": 0
    }  # fmt: skip
