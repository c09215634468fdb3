"""Scheduling's events on a real broker, read back from the SCHEDULING stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from shared.clock import clock
from shared.events import contracts as ev
from tests.scheduling_support import (
    EventTap,
    add_session,
    create_training,
    event_tap,
    published_training,
    scheduling_system,
)
from tests.support import System, eventually


@pytest.fixture
async def system(tmp_path: Path, db_kind: str) -> AsyncIterator[System]:
    async with scheduling_system(tmp_path, db_kind) as running:
        yield running


@pytest.fixture
async def tap(system: System) -> AsyncIterator[EventTap]:
    async with event_tap(system) as listening:
        yield listening


async def one(tap: EventTap, subject: str, aggregate_id: str, count: int = 1) -> list:
    async def arrived() -> list:
        found = tap.of(subject, aggregate_id)
        assert len(found) >= count, f"{subject} for {aggregate_id}: {len(found)} of {count}"
        return found

    return await eventually(arrived)


async def test_each_transition_and_session_change_of_a_published_training_emits_its_event(
    system: System, tap: EventTap
) -> None:
    ee = system.token("organiser", ["EE"])
    training = await create_training(system, ee, title="Draft title")
    first = await add_session(system, ee, training)
    await system.scheduling.patch(
        f"/trainings/{training['id']}", json={"title": "Published title"}, headers=ee
    )
    day = training["starts_on"]

    response = await system.scheduling.post(f"/trainings/{training['id']}/publish", headers=ee)
    assert response.status_code == 200
    (published,) = await one(tap, ev.TrainingPublished.subject, training["id"])
    assert published.title == "Published title" and published.status == "published"
    assert published.timezone == "Europe/Tallinn" and published.city == "Tallinn"
    assert [s.id for s in published.sessions] == [first["id"]]
    assert published.sessions[0].starts_at.isoformat() == first["starts_at"]
    # Nothing was announced while the training was a draft.
    assert [e.subject for e, p in tap.received if getattr(p, "id", None) == training["id"]] == [
        ev.TrainingPublished.subject
    ]

    await system.scheduling.patch(f"/trainings/{training['id']}", json={"capacity": 45}, headers=ee)
    (updated,) = await one(tap, ev.TrainingUpdated.subject, training["id"])
    assert updated.capacity == 45 and updated.revision > published.revision

    second = await add_session(system, ee, training, start="13:00", end="14:00", room="Hall B")
    (scheduled,) = await one(tap, ev.SessionScheduled.subject, second["id"])
    assert scheduled.training_id == training["id"] and scheduled.sequence == 0
    assert scheduled.status == "scheduled" and scheduled.room == "Hall B"
    assert scheduled.starts_at.isoformat() == second["starts_at"]
    assert scheduled.speakers == [ev.Speaker(name="Kristiina Kangaspunta", organisation="UNODC")]

    await system.scheduling.patch(
        f"/trainings/{training['id']}/sessions/{second['id']}",
        json={"starts_at": f"{day}T12:30:00"},
        headers=ee,
    )
    (moved,) = await one(tap, ev.SessionUpdated.subject, second["id"])
    assert moved.sequence == 1 and moved.revision == scheduled.revision + 1
    assert moved.starts_at.hour == 12 and moved.starts_at.minute == 30

    await system.scheduling.post(
        f"/trainings/{training['id']}/sessions/{second['id']}/cancel", headers=ee
    )
    (dropped,) = await one(tap, ev.SessionCancelled.subject, second["id"])
    assert dropped.status == "cancelled" and dropped.sequence == 2

    clock.set(datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC))
    ee = system.token("organiser", ["EE"])
    response = await system.scheduling.post(f"/trainings/{training['id']}/complete", headers=ee)
    assert response.status_code == 200
    (completed,) = await one(tap, ev.TrainingCompleted.subject, training["id"])
    assert completed.revision == response.json()["revision"]


async def test_cancelling_a_published_training_emits_it_and_each_session_cancelled(
    system: System, tap: EventTap
) -> None:
    ee = system.token("organiser", ["EE"])
    training, sessions = await published_training(system, ee, sessions=2)
    response = await system.scheduling.post(
        f"/trainings/{training['id']}/cancel", json={"reason": "Venue unavailable"}, headers=ee
    )
    assert response.status_code == 200
    (cancelled,) = await one(tap, ev.TrainingCancelled.subject, training["id"])
    assert cancelled.reason == "Venue unavailable"
    assert cancelled.revision == response.json()["revision"]
    for session in sessions:
        (gone,) = await one(tap, ev.SessionCancelled.subject, session["id"])
        assert gone.sequence == 1 and gone.status == "cancelled"


async def test_cancelling_a_draft_emits_the_cancellation_alone(
    system: System, tap: EventTap
) -> None:
    ee = system.token("organiser", ["EE"])
    training = await create_training(system, ee)
    session = await add_session(system, ee, training)
    await system.scheduling.post(f"/trainings/{training['id']}/cancel", headers=ee)
    await one(tap, ev.TrainingCancelled.subject, training["id"])
    assert tap.of(ev.SessionCancelled.subject, session["id"]) == []


async def test_moving_a_training_to_another_zone_emits_each_moved_session(
    system: System, tap: EventTap
) -> None:
    ee = system.token("organiser", ["EE"])
    training, (session,) = await published_training(system, ee)
    await system.scheduling.patch(
        f"/trainings/{training['id']}", json={"timezone": "Europe/Stockholm"}, headers=ee
    )
    (moved,) = await one(tap, ev.SessionUpdated.subject, session["id"])
    assert moved.sequence == 1
    assert moved.starts_at.utcoffset() in (timedelta(hours=1), timedelta(hours=2))
    (updated,) = await one(tap, ev.TrainingUpdated.subject, training["id"])
    assert updated.timezone == "Europe/Stockholm"
    assert updated.sessions[0].starts_at == moved.starts_at
