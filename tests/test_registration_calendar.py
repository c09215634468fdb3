"""The participant's calendar link: scheduling serves it, and renewing it revokes the old one."""

from __future__ import annotations

from pathlib import Path

from tests.registration_support import open_training, person, register
from tests.support import eventually, running_system


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


async def test_renewing_the_calendar_link_stops_the_old_one_in_scheduling(tmp_path: Path) -> None:
    async with running_system(tmp_path, services=("registration", "scheduling")) as system:
        training = await open_training(system.nats.url, system.registration)
        registration = await register(system.registration, training.id, person(1))
        old = _path(registration["calendar_url"])

        async def served(path: str) -> bool:
            response = await system.scheduling.get(path)
            assert response.status_code == 200, response.text
            return True

        await eventually(lambda: served(old))

        renewed = await system.registration.post(
            f"/registrations/{registration['id']}/calendar-link",
            headers={"X-Manage-Token": registration["manage_token"]},
        )
        assert renewed.status_code == 200, renewed.text
        new = _path(renewed.json()["calendar_url"])
        assert new != old

        await eventually(lambda: served(new))
        assert (await system.scheduling.get(old)).status_code == 404
        # The manage link shows the new link from now on.
        shown = await system.registration.get(f"/manage/{registration['manage_token']}")
        assert renewed.json()["calendar_url"] in shown.text
        assert registration["calendar_url"] not in shown.text

        stranger = await system.registration.post(
            f"/registrations/{registration['id']}/calendar-link",
            headers={"X-Manage-Token": "not-the-token"},
        )
        assert stranger.status_code == 404
