"""Anonymity, checked in the database: nothing a DBA could join ties an answer to a person."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from shared.events import contracts as ev
from tests.evaluation_support import (
    Training,
    attendee,
    columns,
    completed_training,
    deliver,
    links_for,
    overall_answers,
    sql,
)
from tests.support import System, running_system


async def test_stored_responses_carry_no_identity_and_no_order(any_evaluation: System) -> None:
    system = any_evaluation
    names = ["Mari Tamm", "Jaan Kask", "Liis Saar"]
    training, tokens = await completed_training(system, names)
    for n, name in enumerate(names):
        answers = overall_answers(3 + n, 8 + n, comments=f"Answer number {3 - n}")
        response = await system.evaluation.post(f"/evaluations/{tokens[name]}", json=answers)
        assert response.status_code == 201

    # What the tables can hold: nothing but the answers, their campaign and bank version.
    assert await columns(system, "response") == {"id", "campaign_id", "bank_version"}
    assert await columns(system, "answer") == {
        "response_id",
        "question_id",
        "part",
        "campaign_id",
        "value",
        "text",
    }
    # Responses waiting for their release hold no more than a response does.
    assert await columns(system, "pending_response") == {
        "id",
        "campaign_id",
        "bank_version",
        "parts",
    }
    # The invitation knows who answered, not when.
    invitation_columns = await columns(system, "invitation")
    assert not {c for c in invitation_columns if "answered_at" in c or "submitted" in c}

    identities = {
        str(value)
        for row in await sql(
            system,
            "SELECT id, registration_id, participant_id, name, email, token_sha256 FROM invitation",
        )
        for value in row
    }
    identities |= set(tokens.values())
    stored = {
        str(value)
        for table in ("response", "answer")
        for row in await sql(system, f"SELECT * FROM {table}")
        for value in row
    }
    assert not stored & identities
    for (response_id,) in await sql(system, "SELECT id FROM response"):
        assert uuid.UUID(response_id).version == 4

    if system.settings.database_url("evaluation").startswith("sqlite"):
        # WITHOUT ROWID: no hidden insertion counter to sort responses by arrival.
        with pytest.raises(OperationalError, match="rowid"):
            await sql(system, "SELECT rowid FROM response")
        with pytest.raises(OperationalError, match="rowid"):
            await sql(system, "SELECT rowid FROM answer")
        with pytest.raises(OperationalError, match="rowid"):
            await sql(system, "SELECT rowid FROM pending_response")

    report = await system.evaluation.get(f"/trainings/{training.id}/report", headers=system.token())
    (comments,) = report.json()["comments"]
    # Sorted by text, not by arrival.
    assert comments["comments"] == ["Answer number 1", "Answer number 2", "Answer number 3"]


@pytest.mark.postgres
async def test_postgres_row_stamps_do_not_tie_a_response_to_its_invitation(
    tmp_path: Path, db_kind: str
) -> None:
    if db_kind != "postgres":
        pytest.skip("xmin is PostgreSQL's")
    async with running_system(tmp_path, "postgres", services=("evaluation",)) as system:
        names = ["Mari Tamm", "Jaan Kask", "Liis Saar", "Peeter Org"]
        _, tokens = await completed_training(system, names)
        for name in names[:3]:
            response = await system.evaluation.post(
                f"/evaluations/{tokens[name]}", json=overall_answers(4, 9)
            )
            assert response.status_code == 201
        # xmin is the id of the transaction that wrote a row version: a response and the
        # invitation its submission marked would share it, were all invitations not rewritten.
        invitation_stamps = {
            row[0] for row in await sql(system, "SELECT xmin::text FROM invitation")
        }
        response_stamps = [row[0] for row in await sql(system, "SELECT xmin::text FROM response")]
        assert len(invitation_stamps) == 1, "every invitation carries the same, latest stamp"
        # Released as one batch: the three responses share one stamp, so it orders none of them.
        assert len(response_stamps) == 3 and len(set(response_stamps)) == 1
        assert set(response_stamps) == invitation_stamps
        assert await sql(system, "SELECT COUNT(*) FROM pending_response") == [(0,)]
        # ... which is the latest submission's, shared by answered and unanswered alike.
        (unanswered_stamp,) = [
            row[0]
            for row in await sql(system, "SELECT xmin::text FROM invitation WHERE NOT answered")
        ]
        assert unanswered_stamp in invitation_stamps


async def test_erasure_removes_the_personal_data_of_invitations(any_evaluation: System) -> None:
    system = any_evaluation
    training = Training()
    training.session("Identifying victims at the consulate")
    names = ("Mari Tamm", "Jaan Kask", "Liis Saar", "Peeter Org")
    mari, jaan, liis, peeter = (attendee(training, n) for n in names)
    await completed_training(system, [], training)
    await deliver(system, mari, jaan, liis, peeter)
    (jaan_token,) = await links_for(system, jaan.email)
    # Three answers: one release, so that the list shows who answered.
    for person in (mari, liis, peeter):
        (token,) = await links_for(system, person.email)
        answered = await system.evaluation.post(
            f"/evaluations/{token}", json=overall_answers(5, 10)
        )
        assert answered.status_code == 201
    draft = await system.evaluation.put(
        f"/evaluations/{jaan_token}", json={"answers": {"comments": "My embassy in Vilnius"}}
    )
    assert draft.status_code == 200

    await deliver(
        system,
        ev.ParticipantErased(id=mari.participant_id, revision=9),
        ev.ParticipantErased(id=jaan.participant_id, revision=9),
    )
    rows = await sql(
        system,
        "SELECT name, email, participant_id, registration_id, draft, erased, answered "
        "FROM invitation ORDER BY answered",
    )
    erased = [r for r in rows if r[5]]
    assert len(erased) == 2
    for name, email, participant_id, registration_id, draft_left, _, _ in erased:
        assert (name, email, participant_id, registration_id, draft_left) == (None,) * 5
    assert sorted(r[0] for r in rows if not r[5]) == ["Liis Saar", "Peeter Org"]
    assert await sql(
        system,
        "SELECT COUNT(*) FROM attendee WHERE participant_id IN (:a, :b)",
        a=mari.participant_id,
        b=jaan.participant_id,
    ) == [(0,)]
    # The old links no longer open anything.
    assert (await system.evaluation.get(f"/evaluations/{jaan_token}")).status_code == 404
    # Counts stay right: the response rate still counts them.
    report = (
        await system.evaluation.get(f"/trainings/{training.id}/report", headers=system.token())
    ).json()
    assert (report["invited"], report["answered"]) == (4, 3)
    listing = (
        await system.evaluation.get(f"/trainings/{training.id}/invitations", headers=system.token())
    ).json()["items"]
    assert sorted((i["name"] or "(erased)", i["answered"]) for i in listing) == [
        ("(erased)", False),
        ("(erased)", True),
        ("Liis Saar", True),
        ("Peeter Org", True),
    ]


async def test_the_secretariat_sees_who_answered_never_what(any_evaluation: System) -> None:
    system = any_evaluation
    names = ["Mari Tamm", "Jaan Kask", "Liis Saar", "Peeter Org"]
    training, tokens = await completed_training(system, names)
    for n, name in enumerate(names[:3]):
        await system.evaluation.post(
            f"/evaluations/{tokens[name]}", json=overall_answers(4, 9, comments=f"Comment {n}")
        )
    listing = await system.evaluation.get(
        f"/trainings/{training.id}/invitations", headers=system.token()
    )
    assert listing.status_code == 200
    items = listing.json()["items"]
    assert {(i["name"], i["answered"]) for i in items} == {
        ("Mari Tamm", True),
        ("Jaan Kask", True),
        ("Liis Saar", True),
        ("Peeter Org", False),
    }
    assert all(
        set(i) == {"stage", "name", "email", "answered", "reminders_sent", "invited_at", "erased"}
        for i in items
    )
    report = await system.evaluation.get(f"/trainings/{training.id}/report", headers=system.token())
    assert report.status_code == 200 and "Comment 0" in report.text
    assert not any(name in report.text for name in names)
