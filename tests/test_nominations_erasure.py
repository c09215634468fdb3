"""Erasure covers nominations: a nominee (who confirmed, so also a participant) and a national
focal point leave no row, mail file or database file holding their name or address."""

from __future__ import annotations

import re
from pathlib import Path

from tests.registration_support import open_training
from tests.support import System, eventually, running_system
from tests.test_erasure import canary, files_holding, rows_holding

LINK = {
    "nominate": re.compile(r"/nominate/([A-Za-z0-9_-]{20,})"),
    "nominee": re.compile(r"/nominee/([A-Za-z0-9_-]{20,})"),
}


async def mailed_link(system: System, address: str, kind: str) -> str:
    """The token of the `kind` link in a mail to `address` (an .eml file: SMTP_URL is unset)."""

    async def found() -> str:
        folder = system.settings.mail_dir
        for path in sorted(folder.glob("*.eml")) if folder.exists() else []:
            text = path.read_text(errors="replace").replace("=\n", "")
            if address in text:
                match = LINK[kind].search(text)
                if match:
                    return match.group(1)
        raise AssertionError(f"no {kind} link mailed to {address} yet")

    return await eventually(found, timeout=15)


async def test_erasure_of_a_nominee_and_a_focal_point_leaves_no_trace(
    tmp_path: Path, db_kind: str
) -> None:
    async with running_system(tmp_path, db_kind, services=("registration",)) as system:
        focal = (f"{canary().capitalize()} {canary().capitalize()}", f"{canary()}@mfa.ee")
        nominee = (f"{canary().capitalize()} {canary().capitalize()}", f"{canary()}@mfa.ee")
        training = await open_training(system.nats.url, system.registration, by_nomination=True)
        named = await system.registration.post(
            f"/trainings/{training.id}/focal-points",
            json={"country": "EE", "name": focal[0], "email": focal[1]},
            headers=system.token(),
        )
        assert named.status_code == 201, named.text
        token = await mailed_link(system, focal[1], "nominate")
        nominated = await system.registration.post(
            f"/focal-points/{token}/nominations",
            json={"name": nominee[0], "email": nominee[1], "organisation": "MFA of Estonia"},
        )
        assert nominated.status_code == 201, nominated.text
        link = await mailed_link(system, nominee[1], "nominee")
        confirmed = await system.registration.post(
            f"/nominees/{link}/registration", json={"consent": True}
        )
        assert confirmed.status_code == 201, confirmed.text

        url = system.settings.database_url("registration")
        needles = (*focal[0].split(), focal[1].split("@")[0], *nominee[0].split())
        needles += (nominee[1].split("@")[0],)
        assert await rows_holding(url, *needles)
        exported = await system.registration.post(
            "/privacy/export", json={"email": nominee[1]}, headers=system.token()
        )
        assert exported.status_code == 200, exported.text
        (nomination,) = exported.json()["nominations"]
        assert nomination["name"] == nominee[0] and nomination["status"] == "registered"
        roles = await system.registration.post(
            "/privacy/export", json={"email": focal[1]}, headers=system.token()
        )
        assert [p["country"] for p in roles.json()["focal_points"]] == ["EE"]
        for address in (nominee[1], focal[1]):
            erased = await system.registration.post(
                "/privacy/erase", json={"email": address}, headers=system.token()
            )
            assert erased.status_code == 200, erased.text
        assert erased.json()["focal_points_erased"] == 1
        assert await rows_holding(url, *needles) == []
        assert files_holding(system.settings.mail_dir, *needles) == []
        gone = await system.registration.get(f"/focal-points/{token}/nominations")
        assert gone.status_code == 404
        if db_kind == "sqlite":

            async def no_file_holds_them() -> bool:
                found = files_holding(tmp_path, *needles)
                assert found == [], found
                return True

            await eventually(no_file_holds_them, timeout=10)
