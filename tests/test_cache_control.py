"""Nothing personal is kept by a browser or a shared cache: answers are no-store unless a
route says otherwise."""

from __future__ import annotations

from typing import Any

from shared.auth import COOKIE_NAME, issue_token
from tests.evaluation_support import completed_training
from tests.registration_support import open_training, person
from tests.scheduling_support import published_training
from tests.support import System


def no_store(response: Any) -> bool:
    return "no-store" in response.headers.get("cache-control", "")


async def assert_not_stored(checks: list[tuple[Any, str, dict[str, str]]]) -> None:
    for client, path, headers in checks:
        response = await client.get(path, headers=headers)
        assert response.status_code < 500, (path, response.text)
        assert no_store(response), (path, dict(response.headers))


def signed_in(system: System) -> dict[str, str]:
    return {"Cookie": f"{COOKIE_NAME}={issue_token(system.settings.secret, role='secretariat')}"}


async def test_personal_answers_and_pages_are_not_stored(system: System) -> None:
    staff = system.token()
    training = await open_training(system.nats.url, system.registration)
    registered = await system.registration.post(
        f"/trainings/{training.id}/registrations", json=person(1)
    )
    assert registered.status_code == 201 and no_store(registered)  # it carries the manage token
    mine = registered.json()
    token = {"X-Manage-Token": mine["manage_token"]}
    registration = system.registration
    await assert_not_stored(
        [
            (registration, f"/manage/{mine['manage_token']}", {}),
            (registration, f"/registrations/{mine['id']}", token),
            (registration, f"/trainings/{training.id}/registrations", staff),
            (registration, f"/trainings/{training.id}/registrations.csv", staff),
            (registration, "/registrations/unknown", token),  # errors too
        ]
    )
    export = await registration.post(
        "/privacy/export", json={"email": "participant1@example.org"}, headers=staff
    )
    assert export.status_code == 200 and no_store(export)

    # The evaluation's clock moves to the training's day: tokens are made after that.
    evaluated, invitations = await completed_training(system, ["Mari Tamm", "Jaan Kask"])
    invitation = invitations["Mari Tamm"]
    saved = await system.evaluation.put(
        f"/evaluations/{invitation}", json={"answers": {"comments": "a draft of mine"}}
    )
    assert saved.status_code == 200 and no_store(saved)
    evaluation, staff, cookie = system.evaluation, system.token(), signed_in(system)
    await assert_not_stored(
        [
            (evaluation, f"/evaluations/{invitation}", {"Accept": "text/html"}),
            (evaluation, f"/evaluations/{invitation}", {"Accept": "application/json"}),
            (evaluation, f"/trainings/{evaluated.id}/report", staff),
            (evaluation, f"/trainings/{evaluated.id}/report.csv", staff),
            (evaluation, f"/trainings/{evaluated.id}/invitations", staff),
            (evaluation, "/reports", cookie),
            (evaluation, f"/reports/{evaluated.id}", cookie),
        ]
    )


async def test_public_calendar_feeds_keep_their_own_caching(system: System) -> None:
    created, _ = await published_training(system, system.token("organiser", ["EE"]))
    feed = await system.scheduling.get(f"/trainings/{created['id']}/calendar.ics")
    assert feed.status_code == 200
    assert feed.headers["cache-control"] == "public, max-age=300"
