"""500 registrations at once for 20 seats, over HTTP, on a running service (SQLite, PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from shared.events import contracts as ev
from tests.registration_support import (
    Served,
    person,
    post_json,
    publish,
    registration_events,
    served_registration,
    training_event,
)
from tests.support import eventually, staff_headers

RUSH = 500
SEATS = 20


@dataclass(frozen=True)
class Attempt:
    number: int
    sent: float
    received: float
    status_code: int
    body: dict[str, Any]


async def _rush(
    served: Served, training_id: str, first: int, on_answer: Any = None
) -> list[Attempt]:
    start = asyncio.Event()

    async def one(number: int) -> Attempt:
        await start.wait()
        sent = time.monotonic()
        status, body = await post_json(
            served.url, f"/trainings/{training_id}/registrations", person(first + number)
        )
        attempt = Attempt(number, sent, time.monotonic(), status, body)
        if on_answer is not None:
            on_answer(attempt)
        return attempt

    tasks = [asyncio.create_task(one(number)) for number in range(RUSH)]
    await asyncio.sleep(0)
    start.set()
    return await asyncio.gather(*tasks)


@asynccontextmanager
async def _open_for_a_rush(
    tmp_path: Path, db_kind: str
) -> AsyncIterator[tuple[Served, httpx.AsyncClient, ev.TrainingData]]:
    """Registration served alone, with one training of SEATS seats in its catalogue."""
    async with served_registration(tmp_path, db_kind) as served, _client(served) as client:
        training = training_event(capacity=SEATS)
        await publish(served.nats_url, training)

        async def listed() -> bool:
            items = (await client.get("/trainings")).json()["items"]
            return training.id in {item["id"] for item in items}

        await eventually(listed, timeout=20)
        yield served, client, training


async def _registrations(client: httpx.AsyncClient, training_id: str) -> list[dict[str, Any]]:
    response = await client.get(
        f"/trainings/{training_id}/registrations", headers=staff_headers(), params={"limit": 2000}
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _client(served: Served) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=served.url, timeout=60)


def _assert_arrival_order(attempts: list[Attempt], listed: list[dict[str, Any]]) -> None:
    """An answer received before another request was sent means an earlier arrival."""
    arrival = {item["id"]: index for index, item in enumerate(listed)}
    by_received = sorted(attempts, key=lambda a: a.received)
    latest_answered = -1
    done = 0
    for attempt in sorted(attempts, key=lambda a: a.sent):
        while done < len(by_received) and by_received[done].received < attempt.sent:
            latest_answered = max(latest_answered, arrival[by_received[done].body["id"]])
            done += 1
        assert arrival[attempt.body["id"]] > latest_answered


async def test_rush_of_500_for_20_seats_confirms_20_and_waitlists_the_rest_in_order(
    tmp_path: Path, db_kind: str
) -> None:
    async with _open_for_a_rush(tmp_path, db_kind) as (served, client, training):
        attempts = await _rush(served, training.id, first=0)

        assert sorted({a.status_code for a in attempts}) == [201], [
            a.body for a in attempts if a.status_code != 201
        ][:3]
        confirmed = [a for a in attempts if a.body["status"] == "confirmed"]
        waitlisted = [a for a in attempts if a.body["status"] == "waitlisted"]
        assert len(confirmed) == SEATS
        assert len(waitlisted) == RUSH - SEATS
        assert sorted(a.body["waitlist_position"] for a in waitlisted) == list(
            range(1, RUSH - SEATS + 1)
        )

        listed = await _registrations(client, training.id)
        # Arrival order: the first 20 arrivals hold the seats, then the waitlist in order.
        assert [item["status"] for item in listed] == ["confirmed"] * SEATS + ["waitlisted"] * (
            RUSH - SEATS
        )
        answered = {a.body["id"]: a.body for a in attempts}
        assert [item["waitlist_position"] for item in listed[SEATS:]] == [
            answered[item["id"]]["waitlist_position"] for item in listed[SEATS:]
        ]
        _assert_arrival_order(attempts, listed)

        catalogue = (await client.get(f"/trainings/{training.id}")).json()
        assert catalogue["seats_left"] == 0


async def test_cancellation_during_a_rush_promotes_exactly_one(
    tmp_path: Path, db_kind: str
) -> None:
    async with _open_for_a_rush(tmp_path, db_kind) as (served, client, training):
        seated: list[Attempt] = []
        queue_started = asyncio.Event()

        def on_answer(attempt: Attempt) -> None:
            if attempt.body.get("status") == "confirmed":
                seated.append(attempt)
            if attempt.body.get("status") == "waitlisted":
                queue_started.set()

        async def cancel_one() -> tuple[str, float, tuple[int, Any]]:
            await queue_started.wait()
            leaving = seated[0].body
            sent = time.monotonic()
            answer = await post_json(
                served.url,
                f"/registrations/{leaving['id']}/cancel",
                {},
                headers={"X-Manage-Token": leaving["manage_token"]},
            )
            return leaving["id"], sent, answer

        cancelling = asyncio.create_task(cancel_one())
        attempts = await _rush(served, training.id, first=10_000, on_answer=on_answer)
        cancelled_id, cancel_sent, (cancel_status, cancelled) = await cancelling

        assert cancel_status == 200, cancelled
        assert {a.status_code for a in attempts} == {201}
        # The cancellation came in the middle of the rush, not after it.
        assert sum(a.received > cancel_sent for a in attempts) >= 50

        listed = await _registrations(client, training.id)
        statuses = [item["status"] for item in listed]
        assert statuses.count("confirmed") == SEATS
        assert statuses.count("cancelled") == 1
        assert statuses.count("waitlisted") == RUSH - SEATS - 1
        waiting = [item for item in listed if item["status"] == "waitlisted"]
        assert [item["waitlist_position"] for item in waiting] == list(range(1, len(waiting) + 1))

        answered = {a.body["id"]: a.body for a in attempts}
        promoted = [
            item
            for item in listed
            if item["status"] == "confirmed" and answered[item["id"]]["status"] == "waitlisted"
        ]
        assert len(promoted) == 1
        # The first in the queue when the seat came free: nobody had left the queue before.
        assert answered[promoted[0]["id"]]["waitlist_position"] == 1

        async def promotion_announced() -> bool:
            events = await registration_events(served.nats_url)
            confirmations = [
                e
                for e in events
                if e.subject == "registration.registration.confirmed"
                and e.data["training_id"] == training.id
                and e.data["revision"] == 2
            ]
            assert [e.data["id"] for e in confirmations] == [promoted[0]["id"]]
            return True

        await eventually(promotion_announced, timeout=20)
        assert [item["id"] for item in listed if item["status"] == "cancelled"] == [cancelled_id]
