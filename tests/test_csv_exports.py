"""CSV exports open safely in a spreadsheet: no cell can start a formula."""

from __future__ import annotations

import csv
import io

from shared.spreadsheets import csv_text
from tests.evaluation_support import Training, completed_training, deliver
from tests.registration_support import open_training, person, register
from tests.support import System

# Each would run as a formula (or a DDE command) in some spreadsheet if left as it is.
PAYLOADS = [
    "=HYPERLINK(1)",
    "+41 22 000",
    "-2+3",
    "@SUM(A1)",
    "\tTAB=1",
    "\r=1",
    "   =1+1",
    "\n\n@cmd",
    " \n -1",
]


def formula_like(cell: str) -> bool:
    try:
        float(cell)
        return False  # a figure, such as a negative score
    except ValueError:
        pass
    return cell[:1] in ("\t", "\r") or cell.lstrip(" \t\r\n")[:1] in ("=", "+", "-", "@")


def cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def assert_neutralised(text: str, payloads: list[str]) -> None:
    found = cells(text)
    for payload in payloads:
        assert f"'{payload}" in found, (payload, found)
    assert not [cell for cell in found if formula_like(cell)], found


# What free text may hold (tab and line feed, no other control character) reaches the
# exports; the rest is refused at input, and the writer is checked on it below.
STORABLE = [payload for payload in PAYLOADS if "\r" not in payload]


def test_the_shared_writer_neutralises_every_formula_like_cell() -> None:
    assert_neutralised(csv_text(["value"], [[payload] for payload in PAYLOADS]), PAYLOADS)


async def test_the_registrations_csv_neutralises_formula_like_cells(system: System) -> None:
    training = await open_training(system.nats.url, system.registration, capacity=50)
    for number, payload in enumerate(STORABLE):
        await register(
            system.registration,
            training.id,
            person(number, needs={"access": payload, "diet": payload}),
        )
    await register(system.registration, training.id, person(99, name="=cmd|' /C calc'!A0"))
    response = await system.registration.get(
        f"/trainings/{training.id}/registrations.csv", headers=system.token()
    )
    assert response.status_code == 200, response.text
    assert_neutralised(response.text, [*STORABLE, "=cmd|' /C calc'!A0"])
    rows = list(csv.DictReader(io.StringIO(response.text)))
    # Plain values stay as they were.
    assert rows[0]["email"] == "participant0@example.org" and rows[0]["country"] == "EE"


async def test_the_evaluation_report_csv_neutralises_formula_like_cells_but_not_numbers(
    system: System,
) -> None:
    training = Training()
    await deliver(system, training.published())
    # An organiser writes the question texts; the secretariat opens the export.
    extra = [
        {"id": f"extra_{n}", "kind": "text", "text": f"{payload}?", "level": 1}
        # Question texts are one line: no tab or line feed gets this far.
        for n, payload in enumerate(["   =HYPERLINK(1)", "@SUM(A1)", "-2+3", " +1"])
    ]
    response = await system.evaluation.put(
        f"/trainings/{training.id}/questions", json={"questions": extra}, headers=system.token()
    )
    assert response.status_code == 200, response.text
    names = [f"Person {n}" for n in range(len(STORABLE))]
    training, tokens = await completed_training(system, names, training)
    for name, payload in zip(names, STORABLE, strict=True):
        answers = {"overall": 4, "recommend": 1, "comments": payload}
        response = await system.evaluation.post(
            f"/evaluations/{tokens[name]}", json={"answers": answers}
        )
        assert response.status_code == 201, response.text
    response = await system.evaluation.get(
        f"/trainings/{training.id}/report.csv", headers=system.token()
    )
    assert response.status_code == 200, response.text
    assert_neutralised(response.text, [q["text"] for q in extra])
    score = next(
        r for r in csv.DictReader(io.StringIO(response.text)) if r["question_id"] == "recommend"
    )["score"]
    assert float(score) == -100.0  # a negative figure stays a number
