"""A participant's subscribed calendar, driven by the real registration service."""

from __future__ import annotations

from typing import Any

from tests.scheduling_support import published_training, uid_of, vevents
from tests.support import System, eventually


async def test_a_participant_who_cancels_sees_their_sessions_cancelled_not_vanished(
    system: System,
) -> None:
    ee = system.token("organiser", ["EE"])
    training, (session,) = await published_training(system, ee)

    async def open_for_registration() -> bool:
        listed = await system.registration.get("/trainings")
        assert any(t["id"] == training["id"] for t in listed.json()["items"])
        return True

    await eventually(open_for_registration)
    registered = await system.registration.post(
        f"/trainings/{training['id']}/registrations",
        json={
            "name": "Mari Tamm",
            "email": "mari.tamm@mfa.ee",
            "organisation": "Ministry of Foreign Affairs of Estonia",
            "country": "EE",
            "consent": True,
        },
    )
    assert registered.status_code == 201, registered.text
    registration = registered.json()
    assert registration["status"] == "confirmed"
    path = "/" + registration["calendar_url"].split("://", 1)[1].split("/", 1)[1]
    uid = uid_of(session["id"])

    async def shows(status: str, sequence: int) -> dict[str, Any]:
        response = await system.scheduling.get(path)
        assert response.status_code == 200, response.text
        events = vevents(response.content)
        assert uid in events, "not in the feed yet"
        assert (str(events[uid]["STATUS"]), int(events[uid]["SEQUENCE"])) == (status, sequence)
        assert "mari" not in response.text.lower()
        return events

    await eventually(lambda: shows("CONFIRMED", 0))
    cancelled = await system.registration.post(
        f"/registrations/{registration['id']}/cancel",
        headers={"X-Manage-Token": registration["manage_token"]},
    )
    assert cancelled.status_code == 200, cancelled.text
    await eventually(lambda: shows("CANCELLED", 1))
