"""Public writes are rate-limited per client when CAPITALS_RATE_LIMIT is set."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from capitals.embedded import free_port
from tests.registration_support import open_training, person, served_registration
from tests.servers import Command
from tests.support import DATABASE_KINDS, database_kind, running_system, staff_headers


async def test_registration_and_link_requests_are_limited_per_client_with_retry_after(
    tmp_path: Path,
) -> None:
    async with running_system(
        tmp_path, services=("registration",), CAPITALS_RATE_LIMIT="5"
    ) as system:
        client = system.registration
        training = await open_training(system.nats.url, client, capacity=100)
        url = f"/trainings/{training.id}/registrations"

        answers = [(await client.post(url, json=person(n))).status_code for n in range(3)]
        answers.append(
            (await client.post("/manage-link", json={"email": "a@example.org"})).status_code
        )
        answers.append((await client.post(url, json={"name": "incomplete"})).status_code)
        assert answers == [201, 201, 201, 202, 400]

        refused = await client.post(url, json=person(10))
        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert 0 < int(refused.headers["retry-after"]) <= 60
        probing = await client.post("/manage-link", json={"email": "b@example.org"})
        assert probing.status_code == 429

        # Reads are not limited, and neither is staff registering people.
        assert (await client.get("/trainings")).status_code == 200
        by_staff = await client.post(
            url, json=person(11), headers=staff_headers("organiser", ["EE"])
        )
        assert by_staff.status_code == 201
        listed = await client.get(f"{url}", headers=staff_headers())
        assert [item["email"] for item in listed.json()["items"]] == [
            "participant0@example.org",
            "participant1@example.org",
            "participant2@example.org",
            "participant11@example.org",
        ]


async def manage_link_answers(url: str, forwarded: list[str]) -> list[int]:
    async with httpx.AsyncClient(base_url=url) as client:
        return [
            (
                await client.post(
                    "/manage-link",
                    json={"email": "someone@example.org"},
                    headers={"X-Forwarded-For": address},
                )
            ).status_code
            for address in forwarded
        ]


async def test_a_client_rotating_x_forwarded_for_does_not_escape_the_limit(
    tmp_path: Path,
) -> None:
    # Over real HTTP, as `capitals serve` runs: the server itself must not believe the header.
    async with served_registration(tmp_path, CAPITALS_RATE_LIMIT="3") as served:
        answers = await manage_link_answers(served.url, [f"198.51.100.{n}" for n in range(5)])
    assert answers == [202, 202, 202, 429, 429]


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(
    tmp_path: Path,
) -> None:
    async with served_registration(
        tmp_path, CAPITALS_RATE_LIMIT="3", CAPITALS_TRUSTED_PROXIES="10.9.0.0/16, 127.0.0.1"
    ) as served:
        first = await manage_link_answers(served.url, ["203.0.113.5"] * 4)
        other = await manage_link_answers(served.url, ["203.0.113.6"])
        # What the client wrote to the left of the proxy's entry proves nothing.
        spoofed = await manage_link_answers(served.url, ["192.0.2.1, 203.0.113.5"])
        # A chain of trusted proxies is walked back to the first untrusted hop.
        chained = await manage_link_answers(served.url, ["203.0.113.5, 10.9.1.1"])
    assert first == [202, 202, 202, 429]
    assert other == [202]
    assert spoofed == [429]
    assert chained == [429]


def test_the_real_client_is_the_first_untrusted_hop_from_the_nearest(tmp_path: Path) -> None:
    from shared.proxies import real_client
    from shared.settings import load_settings

    proxies = load_settings(
        {"CAPITALS_DATA_DIR": str(tmp_path), "CAPITALS_TRUSTED_PROXIES": "10.0.0.0/8, ::1"}
    ).trusted_proxies
    assert real_client("198.51.100.7", ["1.2.3.4"], proxies) == "198.51.100.7"
    assert real_client("10.0.0.2", ["1.2.3.4"], proxies) == "1.2.3.4"
    assert real_client("10.0.0.2", ["6.6.6.6, 1.2.3.4", "10.0.0.9"], proxies) == "1.2.3.4"
    assert real_client("::1", ["2001:db8::5"], proxies) == "2001:db8::5"
    assert real_client("10.0.0.2", [], proxies) == "10.0.0.2"
    assert real_client("10.0.0.2", ["not-an-address"], proxies) == "10.0.0.2"


@pytest.mark.parametrize("kind", DATABASE_KINDS)
async def test_two_instances_on_one_database_share_the_clients_count(
    tmp_path: Path, kind: str
) -> None:
    async with served_registration(tmp_path, database_kind(kind), CAPITALS_RATE_LIMIT="3") as first:
        port = free_port()
        env = {**first.env, "REGISTRATION_PUBLIC_URL": f"http://127.0.0.1:{port}"}
        with Command("registration", port, env, tmp_path / "second.log").served():
            second = f"http://127.0.0.1:{port}"
            # At once, from both instances: exactly three get through.
            rush = await asyncio.gather(
                *(manage_link_answers(url, ["-"]) for url in [first.url, second] * 4)
            )
            answers = [status for (status,) in rush]
            assert sorted(answers) == [202] * 3 + [429] * 5
            # And the next one, on either instance, waits out the same minute.
            async with httpx.AsyncClient() as client:
                for url in (first.url, second):
                    refused = await client.post(
                        f"{url}/manage-link", json={"email": "someone@example.org"}
                    )
                    assert refused.status_code == 429
                    assert refused.headers["content-type"].startswith("application/problem+json")
                    assert 0 < int(refused.headers["retry-after"]) <= 60


async def test_a_clients_window_ends_a_minute_after_its_first_request(tmp_path: Path) -> None:
    from shared.db import Database
    from shared.migrations import upgrade
    from shared.tables import rate_limit
    from shared.throttle import WINDOW_MS, count_hits, prune

    url = f"sqlite+aiosqlite:///{tmp_path / 'registration.sqlite3'}"
    await asyncio.to_thread(upgrade, "registration", url)
    db = Database(url)
    try:
        start = 1_000_000_000
        seen = []
        for at in (start, start + 10, start + WINDOW_MS - 1, start + WINDOW_MS, start + WINDOW_MS):
            async with db.unit() as uow:
                seen.append(await count_hits(uow, "client", 1, at))
        assert seen == [
            (1, start),
            (2, start),
            (3, start),
            (1, start + WINDOW_MS),
            (2, start + WINDOW_MS),
        ]
        async with db.unit() as uow:
            await count_hits(uow, "other", 2, start)
        await prune(db, start + WINDOW_MS + 1)
        async with db.session() as session:
            left = (await session.exec(select(rate_limit.c.client))).all()  # type: ignore[call-overload]
        assert [row.client for row in left] == ["client"]
    finally:
        await db.dispose()
