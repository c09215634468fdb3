"""Time-based rules: reminders, closing, the follow-up months later, and the job that runs them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import msgspec
import nats
import pytest
from nats.js.errors import NotFoundError

from services.evaluation import jobs
from services.evaluation.questions import FOLLOW_UP_V1
from services.evaluation.settings import own
from shared.clock import clock
from shared.events import decode_envelope
from tests.evaluation_support import (
    apply,
    completed_training,
    links_for,
    mails,
    overall_answers,
    sql,
    subjects_to,
)
from tests.support import System, eventually, running_system

DAY = timedelta(days=1)


@pytest.fixture
async def quiet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[System]:
    """The evaluation service with its schedule asleep, so a test applies each rule itself."""
    monkeypatch.setattr(jobs, "TICK_SECONDS", 3600.0)
    async with running_system(tmp_path, services=("evaluation",)) as system:
        yield system


async def last_event(system: System, subject: str) -> dict[str, object]:
    """The data of the latest event of this type on the EVALUATION stream."""
    connection = await nats.connect(system.nats.url)
    try:
        try:
            message = await connection.jetstream().get_last_msg("EVALUATION", subject)
        except NotFoundError:
            raise AssertionError(f"no {subject} on the stream yet") from None
        envelope = decode_envelope(message.data or b"")
        data: dict[str, object] = msgspec.json.decode(envelope.data)
        return data
    finally:
        await connection.close()


def email(name: str) -> str:
    return name.lower().replace(" ", ".") + "@mfa.example"


async def test_reminders_go_to_those_who_have_not_answered_after_the_delay_at_most_twice(
    quiet: System,
) -> None:
    system = quiet
    assert own(system.settings).reminder_after == 7 * DAY
    assert own(system.settings).max_reminders == 2
    names = ["Mari Tamm", "Jaan Kask", "Liis Saar", "Peeter Org", "Kadri Kuusk"]
    _, tokens = await completed_training(system, names)
    # Three answers, so they are released and the three count as answered.
    for name in ("Mari Tamm", "Peeter Org", "Kadri Kuusk"):
        answered = await system.evaluation.post(
            f"/evaluations/{tokens[name]}", json=overall_answers(4, 9)
        )
        assert answered.status_code == 201

    clock.advance(6 * DAY)
    assert await apply(system, jobs.send_due_reminders) == 0
    clock.advance(DAY)
    assert await apply(system, jobs.send_due_reminders) == 2
    assert await apply(system, jobs.send_due_reminders) == 0
    clock.advance(7 * DAY)
    assert await apply(system, jobs.send_due_reminders) == 2
    clock.advance(7 * DAY)
    assert await apply(system, jobs.send_due_reminders) == 0

    async def reminded() -> bool:
        for name in ("Jaan Kask", "Liis Saar"):
            subjects = subjects_to(system, email(name))
            assert len(subjects) == 3, subjects
            assert sum(s.startswith("Reminder: your evaluation") for s in subjects) == 2
        return True

    await eventually(reminded)
    # The same personal link: the reminder carries the invitation's token again.
    assert set(await links_for(system, email("Jaan Kask"), 3)) == {tokens["Jaan Kask"]}
    assert subjects_to(system, email("Mari Tamm")) == [
        "How was Trafficking in human beings: consular training in Tallinn? Your evaluation"
    ]
    counts = await sql(system, "SELECT name, reminders_sent FROM invitation ORDER BY name")
    assert counts == [
        ("Jaan Kask", 2),
        ("Kadri Kuusk", 0),
        ("Liis Saar", 2),
        ("Mari Tamm", 0),
        ("Peeter Org", 0),
    ]


async def test_the_secretariat_reminds_on_demand_while_the_evaluation_is_open(
    quiet: System,
) -> None:
    system = quiet
    training, tokens = await completed_training(system, ["Mari Tamm", "Jaan Kask"])
    await system.evaluation.post(f"/evaluations/{tokens['Mari Tamm']}", json=overall_answers(4, 9))
    path = f"/trainings/{training.id}/reminders"
    sent = await system.evaluation.post(path, headers=system.token())
    # Mari's answer is not released yet: she counts as reminded, so the number does not
    # tell that someone answered, but she is not mailed.
    assert sent.status_code == 200 and sent.json() == {"reminded": 2}

    async def arrived() -> bool:
        assert len(subjects_to(system, email("Jaan Kask"))) == 2
        return True

    await eventually(arrived)
    assert len(subjects_to(system, email("Mari Tamm"))) == 1
    clock.advance(own(system.settings).open_for)
    assert await apply(system, jobs.close_due_campaigns) == 1
    closed = await system.evaluation.post(path, headers=system.token())
    assert closed.status_code == 409


async def test_an_evaluation_closes_after_its_period_and_says_so_on_the_bus(quiet: System) -> None:
    system = quiet
    training, tokens = await completed_training(system, ["Mari Tamm", "Jaan Kask", "Liis Saar"])
    await system.evaluation.post(f"/evaluations/{tokens['Mari Tamm']}", json=overall_answers(4, 9))
    await system.evaluation.put(
        f"/evaluations/{tokens['Jaan Kask']}", json={"answers": {"overall": 2}}
    )
    clock.advance(own(system.settings).open_for - timedelta(seconds=1))
    assert await apply(system, jobs.close_due_campaigns) == 0
    clock.advance(timedelta(seconds=1))
    assert await apply(system, jobs.close_due_campaigns) == 1
    assert await apply(system, jobs.close_due_campaigns) == 0

    closed = await eventually(lambda: last_event(system, "evaluation.campaign.closed"))
    # Mari's response was never released (one is no step), but she counts as answered.
    assert (closed["training_id"], closed["invited"], closed["answered"]) == (training.id, 3, 1)
    assert closed["stage"] == "evaluation"
    # Drafts were personal and are of no use any more.
    assert await sql(system, "SELECT COUNT(*) FROM invitation WHERE draft IS NOT NULL") == [(0,)]
    late = await system.evaluation.post(
        f"/evaluations/{tokens['Jaan Kask']}", json=overall_answers(2, 5)
    )
    assert late.status_code == 409
    report = (
        await system.evaluation.get(f"/trainings/{training.id}/report", headers=system.token())
    ).json()
    assert report["status"] == "closed"


async def test_the_follow_up_goes_to_the_same_attendees_months_later(quiet: System) -> None:
    system = quiet
    names = ["Mari Tamm", "Jaan Kask", "Liis Saar"]
    training, first = await completed_training(system, names)
    await system.evaluation.post(f"/evaluations/{first['Mari Tamm']}", json=overall_answers(4, 9))

    clock.advance(own(system.settings).follow_up_after - timedelta(minutes=1))
    assert await apply(system, jobs.open_due_follow_ups) == 0
    clock.advance(timedelta(minutes=1))
    assert await apply(system, jobs.open_due_follow_ups) == 1
    assert await apply(system, jobs.open_due_follow_ups) == 0

    later = {}
    for name in names:
        tokens = await links_for(system, email(name), 2)
        (token,) = set(tokens) - {first[name]}
        later[name] = token
        assert any(s.startswith("Some months after") for s in subjects_to(system, email(name)))
    form = (await system.evaluation.get(f"/evaluations/{later['Jaan Kask']}")).json()
    assert form["stage"] == "follow_up"
    assert [q["id"] for q in form["questions"]] == [q.id for q in FOLLOW_UP_V1]
    assert {q["level"] for q in form["questions"]} >= {3}

    given = [
        ("Mari Tamm", "often", ["identified_case", "briefed_colleagues"], 5),
        ("Jaan Kask", "sometimes", ["briefed_colleagues"], 4),
        ("Liis Saar", "not_yet", None, 3),
    ]
    for name, applied, how, useful in given:
        answers: dict[str, object] = {"applied": applied, "usefulness_now": useful}
        if how:
            answers["applied_how"] = how
        response = await system.evaluation.post(
            f"/evaluations/{later[name]}", json={"answers": answers}
        )
        assert response.status_code == 201, response.text

    async def third_follow_up_answer() -> bool:
        data = await last_event(system, "evaluation.response.submitted")
        # Consumers tell a follow-up's answers from the evaluation's by the stage.
        assert (data["stage"], data["answered"]) == ("follow_up", 3)
        return True

    await eventually(third_follow_up_answer)

    report = (
        await system.evaluation.get(f"/trainings/{training.id}/report", headers=system.token())
    ).json()
    # Mari's single evaluation answer waits for two more before anyone sees it.
    assert (report["invited"], report["answered"]) == (3, 0)
    follow_up = report["follow_up"]
    assert (follow_up["invited"], follow_up["answered"], follow_up["withheld"]) == (3, 3, False)
    by_id = {q["id"]: q for q in follow_up["questions"]}
    assert by_id["applied"]["distribution"] == {
        "often": 1,
        "sometimes": 1,
        "not_yet": 1,
        "no_occasion": 0,
    }
    assert (by_id["usefulness_now"]["mean"], by_id["usefulness_now"]["median"]) == (4.0, 4.0)
    assert (by_id["applied_how"]["n"], by_id["applied_how"]["withheld"]) == (2, True)

    trend = (await system.evaluation.get("/series/cbss-thb/trends", headers=system.token())).json()
    (edition,) = trend["follow_up"]["editions"]
    assert (edition["invited"], edition["answered"], edition["response_rate"]) == (3, 3, 1.0)
    applied = next(q for q in trend["follow_up"]["questions"] if q["id"] == "applied")
    assert applied["series"]["distribution"]["often"] == 1


async def test_the_schedule_job_reminds_closes_and_follows_up_by_itself(tmp_path: Path) -> None:
    async with running_system(tmp_path, services=("evaluation",)) as system:
        _, tokens = await completed_training(system, ["Mari Tamm", "Jaan Kask"])
        await system.evaluation.post(
            f"/evaluations/{tokens['Mari Tamm']}", json=overall_answers(4, 9)
        )

        clock.advance(own(system.settings).reminder_after)

        async def reminded() -> bool:
            assert any(s.startswith("Reminder") for s in subjects_to(system, email("Jaan Kask")))
            return True

        await eventually(reminded)

        clock.advance(own(system.settings).open_for)

        async def closed() -> bool:
            rows = await sql(system, "SELECT status FROM campaign")
            assert rows == [("closed",)], rows
            return True

        await eventually(closed)

        clock.advance(own(system.settings).follow_up_after)

        async def followed_up() -> bool:
            subjects = [str(m["Subject"]) for m in mails(system)]
            assert sum(s.startswith("Some months after") for s in subjects) == 2, subjects
            return True

        await eventually(followed_up)
        assert await sql(system, "SELECT stage, status FROM campaign ORDER BY stage") == [
            ("evaluation", "closed"),
            ("follow_up", "open"),
        ]
