"""Attendance per day through the API, on SQLite and PostgreSQL: a check-in is for one day of
the training, twice is once, a day outside the training or in the future is refused naming
`day`, and the secretariat may correct attendance after completion."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
import pytest

from shared.clock import clock
from shared.events import contracts as ev
from shared.structs import carried
from tests.evaluation_support import (
    Training,
    attendee,
    completed_training,
    deliver,
    links_for,
)
from tests.registration_support import (
    completed,
    events_about,
    one_registration_system_per_module,
    person,
    register,
    two_day_training,
)
from tests.support import System, eventually

system = one_registration_system_per_module("attendance")


def at_nine(system: System, day: date) -> dict[str, str]:
    """The clock at 09:00 in Reykjavik (UTC all year) on `day`; an organiser's token of that
    moment (tokens expire by the clock)."""
    clock.set(datetime(day.year, day.month, day.day, 9, tzinfo=UTC))
    return system.token("organiser", ["IS"])


def days(*values: date) -> list[str]:
    return [value.isoformat() for value in values]


async def test_each_day_is_checked_in_once_and_undone_on_its_own(system: System) -> None:
    training = await two_day_training(system.nats.url, system.registration)
    first, second = training.starts_on, training.ends_on
    seated = await register(system.registration, training.id, person(1))
    url = f"/registrations/{seated['id']}/check-in"

    organiser = at_nine(system, first)
    # No body: today in the training's zone, as callers before per-day attendance expect.
    checked = await system.registration.post(url, headers=organiser)
    assert checked.status_code == 200, checked.text
    assert checked.json()["days_attended"] == days(first) and checked.json()["checked_in"]
    again = await system.registration.post(url, json={"day": str(first)}, headers=organiser)
    assert again.status_code == 200 and again.json()["days_attended"] == days(first)
    assert again.json()["updated_at"] == checked.json()["updated_at"]

    organiser = at_nine(system, second)
    both = await system.registration.post(url, json={"day": str(second)}, headers=organiser)
    assert both.json()["days_attended"] == days(first, second)
    undone = await system.registration.delete(url, params={"day": str(first)}, headers=organiser)
    assert undone.status_code == 200
    assert undone.json()["days_attended"] == days(second) and undone.json()["checked_in"]
    nothing = await system.registration.delete(url, params={"day": str(first)}, headers=organiser)
    assert nothing.status_code == 200 and nothing.json()["days_attended"] == days(second)

    shown = await system.registration.get(f"/registrations/{seated['id']}", headers=organiser)
    assert shown.json()["days_attended"] == days(second)
    listed = await system.registration.get(
        f"/trainings/{training.id}/registrations", headers=organiser
    )
    assert listed.json()["items"][0]["days_attended"] == days(second)
    exported = await system.registration.get(
        f"/trainings/{training.id}/registrations.csv", headers=organiser
    )
    (row,) = csv.DictReader(io.StringIO(exported.text))
    assert row["days_attended"] == str(second) and row["checked_in"] == "yes"

    async def announced() -> list[dict[str, Any]]:
        found = [e.data for e in await events_about(system.nats.url, {seated["id"]})]
        assert len(found) == 4, found
        return found

    _confirmed, day_one, day_two, undo = sorted(await announced(), key=lambda e: e["revision"])
    assert (day_one["day"], day_one["days_attended"]) == (str(first), days(first))
    assert (day_two["day"], day_two["days_attended"]) == (str(second), days(first, second))
    # One day remains: the undoing still carries what the evaluation invitation needs.
    assert (undo["day"], undo["days_attended"]) == (str(first), days(second))
    assert undo["email"] == "participant1@example.org"


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"day": "+1"}, "future"),
        ({"day": "-1"}, "not a day of this training"),
        ({"day": "+2"}, "not a day of this training"),
        ({"day": "26 May"}, "not a date"),
    ],
)
async def test_a_day_outside_the_training_or_in_the_future_is_refused_naming_day(
    system: System, body: dict[str, str], why: str
) -> None:
    training = await two_day_training(system.nats.url, system.registration)
    seated = await register(system.registration, training.id, person(2))
    organiser = at_nine(system, training.starts_on)
    offset = {"+1": 1, "-1": -1, "+2": 2}.get(body["day"])
    day = str(training.starts_on + timedelta(days=offset)) if offset else body["day"]
    url = f"/registrations/{seated['id']}/check-in"

    refused = await system.registration.post(url, json={"day": day}, headers=organiser)
    assert refused.status_code == 422, refused.text
    assert why in refused.json()["detail"]
    assert refused.json()["errors"][0]["field"] == "day"
    undone = await system.registration.delete(url, params={"day": day}, headers=organiser)
    assert undone.status_code == 422 and undone.json()["errors"][0]["field"] == "day"
    shown = await system.registration.get(f"/registrations/{seated['id']}", headers=organiser)
    assert shown.json()["days_attended"] == []


async def test_only_the_secretariat_corrects_attendance_after_completion(system: System) -> None:
    training = await two_day_training(system.nats.url, system.registration)
    seated = await register(system.registration, training.id, person(3))
    url = f"/registrations/{seated['id']}/check-in"
    organiser = at_nine(system, training.starts_on)
    assert (await system.registration.post(url, headers=organiser)).status_code == 200

    await completed(system.nats.url, system.registration, training.id)
    organiser = at_nine(system, training.ends_on + timedelta(days=3))
    second = {"day": str(training.ends_on)}
    closed = await system.registration.post(url, json=second, headers=organiser)
    assert closed.status_code == 409 and "completed" in closed.json()["detail"]
    corrected = await system.registration.post(url, json=second, headers=system.token())
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["days_attended"] == days(training.starts_on, training.ends_on)

    async def issued() -> bool:
        record = await system.registration.get(
            f"/registrations/{seated['id']}/certificate", headers=organiser
        )
        assert record.status_code == 200 and record.json()["status"] == "valid", record.text
        return True

    # The correction covers every day: the certificate follows.
    await eventually(issued)


async def test_evaluation_keeps_the_invitation_while_another_day_remains(
    evaluation: System,
) -> None:
    """Evaluation invites whoever attended at least one day, and counts attendance per day
    from the check-in events."""
    training = Training()
    first, second = training.day, training.day + timedelta(days=1)
    await completed_training(evaluation, [], training)
    checked = msgspec.structs.replace(
        attendee(training, "Mari Tamm"), day=first, days_attended=[first, second]
    )
    await deliver(evaluation, checked)
    (token,) = await links_for(evaluation, checked.email)

    def undone(revision: int, day: date, left: list[date]) -> ev.RegistrationCheckInUndone:
        return carried(
            ev.RegistrationCheckInUndone,
            checked,
            revision=revision,
            day=day,
            days_attended=left,
            name=checked.name if left else "",
            email=checked.email if left else "",
        )

    await deliver(evaluation, undone(checked.revision + 1, first, [second]))
    assert (await evaluation.evaluation.get(f"/evaluations/{token}")).status_code == 200
    report = await evaluation.evaluation.get(
        f"/trainings/{training.id}/report", headers=evaluation.token()
    )
    assert report.json()["attendance"] == [{"day": str(second), "attended": 1}]
    assert report.json()["invited"] == 1

    await deliver(evaluation, undone(checked.revision + 2, second, []))
    assert (await evaluation.evaluation.get(f"/evaluations/{token}")).status_code == 404
