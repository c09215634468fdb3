"""Answering through the invitation link: one response each, drafts, bad input, late check-ins."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from services.evaluation import jobs
from services.evaluation.settings import own
from shared.clock import clock
from shared.events import contracts as ev
from tests.evaluation_support import (
    Training,
    apply,
    attendee,
    completed_training,
    deliver,
    links_for,
    overall_answers,
    sql,
)
from tests.support import System


async def stored(system: System) -> tuple[int, int]:
    """(responses, answer rows) in the database."""
    responses = (await sql(system, "SELECT COUNT(*) FROM response"))[0][0]
    answers = (await sql(system, "SELECT COUNT(*) FROM answer"))[0][0]
    return int(responses), int(answers)


async def test_one_response_per_invitation_even_when_submitted_concurrently(
    any_evaluation: System,
) -> None:
    system = any_evaluation
    _, tokens = await completed_training(system, ["Mari Tamm", "Jaan Kask", "Liis Saar"])
    mari = tokens["Mari Tamm"]
    others = [tokens["Jaan Kask"], tokens["Liis Saar"]]

    async def send(token: str, overall: int) -> int:
        response = await system.evaluation.post(
            f"/evaluations/{token}", json=overall_answers(overall, 9)
        )
        return response.status_code

    statuses = await asyncio.gather(
        *(send(mari, 1 + n % 5) for n in range(12)), *(send(t, 4) for t in others)
    )
    mine, theirs = statuses[:12], statuses[12:]
    assert sorted(mine) == [201] + [409] * 11
    assert theirs == [201, 201]
    responses, answers = await stored(system)
    assert (responses, answers) == (3, 6)
    report = await system.evaluation.get(
        f"/trainings/{(await sql(system, 'SELECT training_id FROM campaign'))[0][0]}/report",
        headers=system.token(),
    )
    assert report.json()["invited"] == 3 and report.json()["answered"] == 3


async def test_bad_answers_get_a_problem_naming_the_question_and_store_nothing(
    evaluation: System,
) -> None:
    system = evaluation
    _, tokens = await completed_training(system, ["Mari Tamm"])
    token = tokens["Mari Tamm"]
    form = (await system.evaluation.get(f"/evaluations/{token}")).json()
    session_id = next(q["id"] for q in form["questions"] if q["id"].startswith("session:"))
    objective_id = next(q["id"] for q in form["questions"] if q["kind"] == "self_assessment")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"overall": 6, "recommend": 9}, "overall"),
        ({"overall": 4, "recommend": -1}, "recommend"),
        ({"overall": 4, "recommend": 9, session_id: 0}, session_id),
        ({"overall": 4, "recommend": 9, "favourite_city": "Riga"}, "favourite_city"),
        ({"overall": 4}, "recommend"),
        ({"overall": 4, "recommend": 9, "length": "endless"}, "length"),
        ({"overall": 4, "recommend": 9, objective_id: {"before": 2}}, objective_id),
    ]
    for answers, question_id in cases:
        response = await system.evaluation.post(f"/evaluations/{token}", json={"answers": answers})
        assert response.status_code == 422, (answers, response.text)
        problem = response.json()
        assert response.headers["content-type"].startswith("application/problem+json")
        assert problem["errors"][0]["field"] == f"answers.{question_id}"
        assert question_id in problem["detail"]

    # A draft may be incomplete, but what it holds must fit its questions.
    draft = await system.evaluation.put(
        f"/evaluations/{token}", json={"answers": {"overall": 4, session_id: 9}}
    )
    assert draft.status_code == 422
    assert draft.json()["errors"][0]["field"] == f"answers.{session_id}"
    shapeless = await system.evaluation.post(f"/evaluations/{token}", json={"answer": {}})
    assert shapeless.status_code == 400
    assert await stored(system) == (0, 0)
    (responded, draft_left), *_ = await sql(system, "SELECT responded, draft FROM invitation")
    assert (bool(responded), draft_left) == (False, None)

    fine = await system.evaluation.post(f"/evaluations/{token}", json=overall_answers(4, 9))
    assert fine.status_code == 201


async def test_a_draft_stays_on_the_invitation_until_submitted(evaluation: System) -> None:
    system = evaluation
    _, tokens = await completed_training(system, ["Mari Tamm"])
    token = tokens["Mari Tamm"]
    saved = await system.evaluation.put(
        f"/evaluations/{token}", json={"answers": {"overall": 4, "comments": "Half-way"}}
    )
    assert saved.status_code == 200, saved.text
    form = (await system.evaluation.get(f"/evaluations/{token}")).json()
    assert form["draft"] == {"overall": 4, "comments": "Half-way"}
    assert form["answered"] is False
    assert await stored(system) == (0, 0)

    done = await system.evaluation.post(
        f"/evaluations/{token}", json=overall_answers(5, 10, comments="Finished")
    )
    assert done.status_code == 201
    ((responded, draft),) = await sql(system, "SELECT responded, draft FROM invitation")
    assert (bool(responded), draft) == (True, None)
    form = (await system.evaluation.get(f"/evaluations/{token}")).json()
    assert form["answered"] is True and form["draft"] is None
    late = await system.evaluation.put(f"/evaluations/{token}", json={"answers": {"overall": 1}})
    assert late.status_code == 409


async def test_a_closed_evaluation_takes_no_draft_and_no_answer(evaluation: System) -> None:
    system = evaluation
    _, tokens = await completed_training(system, ["Mari Tamm"])
    token = tokens["Mari Tamm"]
    clock.advance(own(system.settings).open_for + timedelta(minutes=1))
    assert (await system.evaluation.get(f"/evaluations/{token}")).json()["status"] == "closed"
    submitted = await system.evaluation.post(f"/evaluations/{token}", json=overall_answers(4, 9))
    assert submitted.status_code == 409
    draft = await system.evaluation.put(f"/evaluations/{token}", json=overall_answers(4, 9))
    assert draft.status_code == 409
    assert await stored(system) == (0, 0)


async def test_an_unknown_link_is_not_found(evaluation: System) -> None:
    response = await evaluation.evaluation.get("/evaluations/not-a-token-at-all-0123456789")
    assert response.status_code == 404
    posted = await evaluation.evaluation.post(
        "/evaluations/not-a-token-at-all-0123456789", json=overall_answers(4, 9)
    )
    assert posted.status_code == 404


async def test_a_check_in_that_arrives_after_completion_is_still_invited(
    evaluation: System,
) -> None:
    system = evaluation
    training, _ = await completed_training(system, ["Mari Tamm"])
    late = attendee(training, "Peeter Org")
    await deliver(system, late)
    (token,) = await links_for(system, late.email)
    form = await system.evaluation.get(f"/evaluations/{token}")
    assert form.status_code == 200 and form.json()["training_id"] == training.id
    report = await system.evaluation.get(f"/trainings/{training.id}/report", headers=system.token())
    assert report.json()["invited"] == 2


async def test_an_undone_check_in_withdraws_the_unanswered_invitation(evaluation: System) -> None:
    system = evaluation
    training = Training()
    training.session("Identifying victims at the consulate")
    mari, jaan = attendee(training, "Mari Tamm"), attendee(training, "Jaan Kask")
    await completed_training(system, [], training)
    await deliver(system, mari, jaan)
    (mari_token,) = await links_for(system, mari.email)
    (jaan_token,) = await links_for(system, jaan.email)
    assert (
        await system.evaluation.post(f"/evaluations/{mari_token}", json=overall_answers(4, 8))
    ).status_code == 201
    await deliver(
        system,
        *(
            ev.RegistrationCheckInUndone(
                id=person.id,
                revision=person.revision + 1,
                training_id=training.id,
                participant_id=person.participant_id,
            )
            for person in (mari, jaan)
        ),
    )
    assert (await system.evaluation.get(f"/evaluations/{jaan_token}")).status_code == 404
    report = (
        await system.evaluation.get(f"/trainings/{training.id}/report", headers=system.token())
    ).json()
    # Mari's answer cannot be taken back: it is anonymous, so her invitation stays, and
    # counts as answered once her response is released or, alone as it is, at the close.
    assert (report["invited"], report["answered"]) == (1, 0)
    clock.advance(own(system.settings).open_for)
    await apply(system, jobs.close_due_campaigns)  # or the schedule did it first
    report = (
        await system.evaluation.get(f"/trainings/{training.id}/report", headers=system.token())
    ).json()
    assert (report["invited"], report["answered"]) == (1, 1)
