"""A participant's corrected details reach evaluation: its attendees and their invitations
use the new name, e-mail and language; an older or unknown registration changes nothing."""

from __future__ import annotations

from shared.events import contracts as ev
from tests.evaluation_support import Training, attendee, completed_training, deliver, sql
from tests.support import System


def _updated(
    checked_in: ev.RegistrationCheckedIn, revision: int, **changes: str
) -> ev.RegistrationUpdated:
    return ev.RegistrationUpdated(
        id=checked_in.id,
        revision=revision,
        training_id=checked_in.training_id,
        participant_id=checked_in.participant_id,
        status="confirmed",
        name=changes.get("name", checked_in.name),
        email=changes.get("email", checked_in.email),
        language=changes.get("language", checked_in.language),
    )


async def test_evaluation_takes_the_corrected_name_and_language_of_an_attendee(
    evaluation: System,
) -> None:
    training = Training()
    await deliver(evaluation, training.published())
    person = attendee(training, "Aino Virtanen", revision=3)
    await deliver(evaluation, person)

    await deliver(evaluation, _updated(person, 4, name="Aino Virtanen-Korhonen", language="de"))
    rows = await sql(
        evaluation,
        "SELECT name, language, revision FROM attendee WHERE registration_id = :id",
        id=person.id,
    )
    assert [tuple(row) for row in rows] == [("Aino Virtanen-Korhonen", "de", 4)]

    # An older correction arriving late, and one about a registration never checked in,
    # change nothing and bring no one in.
    await deliver(evaluation, _updated(person, 2, name="Stale"))
    stranger = attendee(training, "Not checked in")
    await deliver(evaluation, _updated(stranger, 5, name="Someone"))
    rows = await sql(evaluation, "SELECT name FROM attendee ORDER BY name")
    assert [row[0] for row in rows] == ["Aino Virtanen-Korhonen"]


async def test_invitations_follow_a_corrected_name(evaluation: System) -> None:
    training, _ = await completed_training(evaluation, ["Jonas Petraitis"])
    (row,) = await sql(evaluation, "SELECT registration_id, participant_id, email FROM attendee")
    checked_in = ev.RegistrationCheckedIn(
        id=row[0],
        revision=3,
        training_id=training.id,
        participant_id=row[1],
        status="confirmed",
        name="Jonas Petraitis",
        email=row[2],
    )
    await deliver(evaluation, _updated(checked_in, 9, name="Jonas Petraitis-Kazlauskas"))
    names = await sql(
        evaluation, "SELECT name FROM invitation WHERE registration_id = :id", id=row[0]
    )
    assert [name for (name,) in names] == ["Jonas Petraitis-Kazlauskas"]
