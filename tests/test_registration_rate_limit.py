"""Public writes are rate-limited per client when CAPITALS_RATE_LIMIT is set."""

from __future__ import annotations

from pathlib import Path

from tests.registration_support import open_training, person, staff
from tests.support import running_system


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
        by_staff = await client.post(url, json=person(11), headers=staff("organiser", ["EE"]))
        assert by_staff.status_code == 201
        listed = await client.get(f"{url}", headers=staff())
        assert [item["email"] for item in listed.json()["items"]] == [
            "participant0@example.org",
            "participant1@example.org",
            "participant2@example.org",
            "participant11@example.org",
        ]
