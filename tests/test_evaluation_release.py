"""Stepped release: no two reads around one submission tell it apart, on any staff surface."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.evaluation import jobs
from services.evaluation.settings import own
from shared.clock import clock
from tests.evaluation_support import (
    apply,
    completed_training,
    links_for,
    overall_answers,
    sql,
)
from tests.support import System, eventually, running_system

HTML = {"accept": "text/html"}
NAMES = ["Anna Mets", "Berit Kask", "Carl Saar", "Dora Org", "Eero Tamm", "Fred Lepp"]


@pytest.fixture
async def quiet(
    tmp_path: Path, db_kind: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[System]:
    """The evaluation service on each database, its schedule asleep: the test closes campaigns."""
    monkeypatch.setattr(jobs, "TICK_SECONDS", 3600.0)
    async with running_system(tmp_path, db_kind, services=("evaluation",)) as system:
        yield system


def _stable(html: str) -> str:
    """A page without what changes on every request anyway (CSP nonces, CSRF tokens)."""
    html = re.sub(r'nonce="[^"]*"', 'nonce=""', html)
    return re.sub(r'(name="_csrf_token" value=)"[^"]*"', r'\1""', html)


async def everything(system: System, training_id: str, series: str) -> dict[str, Any]:
    """Every staff surface that could show an answer or who gave it, read once."""
    staff = system.token()
    paths = {
        "report": f"/trainings/{training_id}/report",
        "csv": f"/trainings/{training_id}/report.csv",
        "trends": f"/series/{series}/trends",
        "invitations": f"/trainings/{training_id}/invitations",
    }
    seen: dict[str, Any] = {}
    for name, path in paths.items():
        response = await system.evaluation.get(path, headers=staff)
        assert response.status_code == 200, (path, response.text)
        seen[name] = response.text if name == "csv" else response.json()
    for name, path in {
        "reports page": "/reports",
        "report page": f"/reports/{training_id}",
        "trends page": f"/reports/series/{series}",
    }.items():
        response = await system.evaluation.get(path, headers={**HTML, **staff})
        assert response.status_code == 200, (path, response.text)
        seen[name] = _stable(response.text)
    return seen


def answered_names(seen: dict[str, Any], stage: str = "evaluation") -> set[str]:
    return {
        i["name"] for i in seen["invitations"]["items"] if i["stage"] == stage and i["answered"]
    }


def figures(seen: dict[str, Any], question_id: str) -> dict[str, Any]:
    return next(q for q in seen["report"]["questions"] if q["id"] == question_id)


async def submit(system: System, token: str, answers: dict[str, Any]) -> None:
    response = await system.evaluation.post(f"/evaluations/{token}", json=answers)
    assert response.status_code == 201, response.text


async def test_reports_trends_and_the_list_move_only_in_steps_of_three_or_at_the_close(
    quiet: System,
) -> None:
    system = quiet
    training, tokens = await completed_training(system, NAMES)
    given = {
        "Anna Mets": overall_answers(5, 10, comments="Zebra crossing at the embassy"),
        "Berit Kask": overall_answers(4, 9, comments="Always bring the referral form"),
        "Carl Saar": overall_answers(2, 3, comments="More time for cases"),
        "Dora Org": overall_answers(1, 0, comments="Dora was here"),
        "Eero Tamm": overall_answers(3, 7, comments="Eero was here"),
    }
    before = await everything(system, training.id, training.series)
    assert before == await everything(system, training.id, training.series), "reads are stable"
    assert answered_names(before) == set()

    # One submission, and another: nothing a reader sees changes, anywhere.
    for name in ("Anna Mets", "Berit Kask"):
        await submit(system, tokens[name], given[name])
        assert await everything(system, training.id, training.series) == before, name

    # The third makes a step: all three appear together, in the list and in the figures.
    await submit(system, tokens["Carl Saar"], given["Carl Saar"])
    step = await everything(system, training.id, training.series)
    assert answered_names(step) == {"Anna Mets", "Berit Kask", "Carl Saar"}
    report = step["report"]
    assert (report["invited"], report["answered"], report["withheld"]) == (6, 3, False)
    overall = figures(step, "overall")
    assert (overall["n"], overall["distribution"]) == (3, {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1})
    assert overall["mean"] == pytest.approx(11 / 3, abs=0.01)
    assert (report["recommendation"]["n"], report["recommendation"]["score"]) == (3, 33.3)
    (comments,) = report["comments"]
    # In the order of their text, not of their arrival (Anna's came first).
    assert comments["comments"] == [
        "Always bring the referral form",
        "More time for cases",
        "Zebra crossing at the embassy",
    ]
    assert "Zebra crossing at the embassy" in step["csv"] and "overall" in step["csv"]
    (edition,) = step["trends"]["editions"]
    assert (edition["invited"], edition["answered"], edition["withheld"]) == (6, 3, False)
    for surface in ("csv", "trends", "reports page", "report page", "trends page"):
        assert step[surface] != before[surface], surface

    # Two more after the step: again nothing moves.
    for name in ("Dora Org", "Eero Tamm"):
        await submit(system, tokens[name], given[name])
        assert await everything(system, training.id, training.series) == step, name
    # Nor does a reminder single them out: they count as reminded, but get no mail.
    reminded = await system.evaluation.post(
        f"/trainings/{training.id}/reminders", headers=system.token()
    )
    assert reminded.json() == {"reminded": 3}
    reminders = {
        i["name"]: i["reminders_sent"]
        for i in (
            await system.evaluation.get(
                f"/trainings/{training.id}/invitations", headers=system.token()
            )
        ).json()["items"]
        if not i["answered"]
    }
    assert reminders == {"Dora Org": 1, "Eero Tamm": 1, "Fred Lepp": 1}

    # The close: those two count as answered, but their answers are never released.
    clock.advance(own(system.settings).open_for)
    assert await apply(system, jobs.close_due_campaigns) == 1
    closed = await everything(system, training.id, training.series)
    assert answered_names(closed) == set(NAMES) - {"Fred Lepp"}
    report = closed["report"]
    assert (report["status"], report["invited"], report["answered"]) == ("closed", 6, 5)
    assert figures(closed, "overall") == overall
    assert report["recommendation"]["n"] == 3
    assert report["comments"] == step["report"]["comments"]
    for text in ("Dora was here", "Eero was here"):
        assert not any(text in str(value) for value in closed.values())
    assert await sql(system, "SELECT COUNT(*) FROM pending_response") == [(0,)]
    assert await sql(system, "SELECT COUNT(*) FROM response") == [(3,)]


async def test_the_follow_up_is_released_in_steps_of_three_too(quiet: System) -> None:
    system = quiet
    names = NAMES[:4]
    training, first_links = await completed_training(system, names)
    clock.advance(own(system.settings).follow_up_after)
    assert await apply(system, jobs.open_due_follow_ups) == 1
    first = await everything(system, training.id, training.series)
    later = {}
    for name in names:
        address = name.lower().replace(" ", ".") + "@mfa.example"
        (token,) = set(await links_for(system, address, 2)) - {first_links[name]}
        later[name] = token
    answers = [
        {"applied": "often", "usefulness_now": 5},
        {"applied": "sometimes", "usefulness_now": 4},
        {"applied": "not_yet", "usefulness_now": 3},
    ]
    for name, given in zip(names[:2], answers, strict=False):
        await submit(system, later[name], {"answers": given})
        assert await everything(system, training.id, training.series) == first
    await submit(system, later[names[2]], {"answers": answers[2]})
    step = await everything(system, training.id, training.series)
    follow_up = step["report"]["follow_up"]
    assert (follow_up["invited"], follow_up["answered"], follow_up["withheld"]) == (4, 3, False)
    usefulness = next(q for q in follow_up["questions"] if q["id"] == "usefulness_now")
    assert (usefulness["n"], usefulness["mean"]) == (3, 4.0)
    assert answered_names(step, "follow_up") == set(names[:3])
    (edition,) = step["trends"]["follow_up"]["editions"]
    assert edition["answered"] == 3


def _database_files(system: System) -> list[Path]:
    url = system.settings.database_url("evaluation")
    path = Path(url.split(":///", 1)[1])
    return [p for p in (path, Path(f"{path}-wal")) if p.exists()]


async def test_a_replaced_or_submitted_draft_leaves_no_trace_in_the_sqlite_files(
    tmp_path: Path,
) -> None:
    async with running_system(tmp_path, services=("evaluation",)) as system:
        _, tokens = await completed_training(system, ["Mari Tamm", "Jaan Kask"])
        first, second = (f"canary-{uuid.uuid4().hex}" for _ in range(2))
        link = f"/evaluations/{tokens['Mari Tamm']}"

        async def absent(*canaries: str) -> bool:
            for path in _database_files(system):
                content = path.read_bytes()
                for canary in canaries:
                    assert canary.encode() not in content, f"{canary} still in {path.name}"
            return True

        saved = await system.evaluation.put(link, json={"answers": {"comments": first}})
        assert saved.status_code == 200
        replaced = await system.evaluation.put(link, json={"answers": {"comments": second}})
        assert replaced.status_code == 200
        # The draft beside her name is replaced: no old page version may keep the first.
        await eventually(lambda: absent(first), timeout=10)
        await submit(system, tokens["Mari Tamm"], overall_answers(4, 9, comments="Final words"))
        await eventually(lambda: absent(first, second), timeout=10)


async def test_concurrent_submissions_are_released_in_whole_steps(quiet: System) -> None:
    system = quiet
    names = [f"Person {n}" for n in range(7)]
    training, tokens = await completed_training(system, names)

    async def send(name: str, overall: int) -> None:
        await submit(system, tokens[name], overall_answers(overall, 9))

    await asyncio.gather(*(send(name, 1 + n % 5) for n, name in enumerate(names)))
    # Seven at once: two steps of three are out, the seventh waits, nothing is lost.
    assert await sql(system, "SELECT COUNT(*) FROM response") == [(6,)]
    assert await sql(system, "SELECT COUNT(*) FROM pending_response") == [(1,)]
    seen = await everything(system, training.id, training.series)
    assert (seen["report"]["answered"], figures(seen, "overall")["n"]) == (6, 6)
    assert len(answered_names(seen)) == 6
