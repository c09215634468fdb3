"""Registration's rules without I/O, and the group commit that writes registrations."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from services.registration.batching import GroupCommit
from services.registration.domain import Seats, Window, check_in_allowed, check_open
from shared.db import Database, UnitOfWork
from shared.problems import Problem

# --- seats ------------------------------------------------------------------------------


def test_seats_confirm_until_full_then_waitlist_in_order() -> None:
    seats = Seats(capacity=2, taken=0)
    admitted = [seats.admit("EE", moderated=False) for _ in range(4)]
    assert [a.status for a in admitted] == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
    assert [a.position for a in admitted] == [None, None, 1, 2]
    assert seats.left == 0 and seats.waitlisted == 2


def test_seats_on_a_moderated_training_stay_free_while_pending() -> None:
    seats = Seats(capacity=1, taken=0)
    assert seats.admit("EE", moderated=True).status == "pending"
    assert seats.left == 1


def test_country_quota_waitlists_with_its_reason_even_when_seats_are_left() -> None:
    seats = Seats(capacity=10, taken=0, quotas={"EE": 1})
    assert seats.admit("EE", moderated=False).status == "confirmed"
    second = seats.admit("EE", moderated=False)
    assert (second.status, second.reason, second.position) == ("waitlisted", "country_quota", 1)
    assert seats.admit("LV", moderated=False).status == "confirmed"


def test_quota_of_zero_keeps_a_country_waiting() -> None:
    seats = Seats(capacity=10, taken=0, quotas={"RU": 0})
    assert seats.admit("RU", moderated=False).reason == "country_quota"


def test_promotions_follow_arrival_order_and_skip_those_over_quota() -> None:
    seats = Seats(
        capacity=3,
        taken=1,
        quotas={"EE": 1},
        confirmed_by_country={"EE": 1},
        waitlisted=4,
    )
    chosen = seats.promotions([("a", "EE"), ("b", "LV"), ("c", "EE"), ("d", "FI")])
    assert chosen == ["b", "d"]
    assert seats.left == 0 and seats.waitlisted == 2


def test_promotions_stop_when_no_seat_is_left() -> None:
    seats = Seats(capacity=1, taken=1, waitlisted=2)
    assert seats.promotions([("a", "EE"), ("b", "EE")]) == []


# --- windows and check-in ------------------------------------------------------------------


def _window(**changes: object) -> Window:
    values: dict[str, object] = {
        "opens_at": None,
        "closes_at": None,
        "status": "published",
        "starts_on": date(2009, 4, 28),
        "timezone": "Europe/Tallinn",
        **changes,
    }
    return Window(**values)  # type: ignore[arg-type]


def test_window_without_a_close_ends_when_the_first_day_begins_in_the_training_zone() -> None:
    window = _window()
    # Midnight in Tallinn (UTC+3 in summer) is 21:00 UTC the day before.
    assert window.is_open(datetime(2009, 4, 27, 20, 59, tzinfo=UTC))
    assert not window.is_open(datetime(2009, 4, 27, 21, 0, tzinfo=UTC))


def test_window_honours_its_opening_and_closing_times() -> None:
    window = _window(
        opens_at=datetime(2009, 3, 1, tzinfo=UTC), closes_at=datetime(2009, 4, 20, tzinfo=UTC)
    )
    assert not window.is_open(datetime(2009, 2, 28, tzinfo=UTC))
    assert window.is_open(datetime(2009, 3, 1, tzinfo=UTC))
    assert not window.is_open(datetime(2009, 4, 20, tzinfo=UTC))


def test_staff_may_register_outside_the_window_but_not_for_a_cancelled_training() -> None:
    late = datetime(2009, 4, 28, 12, tzinfo=UTC)
    check_open(_window(), late, by_staff=True)
    with pytest.raises(Problem) as refused:
        check_open(_window(), late, by_staff=False)
    assert refused.value.status_code == 409
    with pytest.raises(Problem):
        check_open(_window(status="cancelled"), late, by_staff=True)


def test_check_in_needs_a_confirmed_registration_on_or_after_the_first_day() -> None:
    first_day = date(2009, 4, 28)
    on_the_day = datetime(2009, 4, 27, 21, 0, tzinfo=UTC)
    check_in_allowed("confirmed", "published", first_day, "Europe/Tallinn", on_the_day)
    for status, training_status, now in (
        ("confirmed", "published", datetime(2009, 4, 27, 20, 59, tzinfo=UTC)),
        ("waitlisted", "published", on_the_day),
        ("confirmed", "completed", on_the_day),
        ("confirmed", "cancelled", on_the_day),
    ):
        with pytest.raises(Problem):
            check_in_allowed(status, training_status, first_day, "Europe/Tallinn", now)


# --- group commit ---------------------------------------------------------------------------

scratch = MetaData()
note = Table(
    "note",
    scratch,
    Column("id", Integer, primary_key=True),
    Column("text", String(20), nullable=False, unique=True),
)


async def _database(path: Path) -> Database:
    db = Database(f"sqlite+aiosqlite:///{path / 'notes.sqlite3'}")
    async with db.engine.begin() as connection:
        await connection.run_sync(scratch.create_all)
    return db


async def _write_notes(uow: UnitOfWork, texts: Sequence[str]) -> list[int | BaseException]:
    results: list[int | BaseException] = []
    for text in texts:
        if text.startswith("refuse"):
            results.append(Problem(409, f"{text} is refused"))
            continue
        await uow.execute(insert(note).values(text=text))
        results.append(len(text))
    return results


async def test_group_commit_writes_queued_items_together_and_answers_each(tmp_path: Path) -> None:
    db = await _database(tmp_path)
    group: GroupCommit[str, int] = GroupCommit(_write_notes)
    writer = asyncio.create_task(group.run(db))
    await asyncio.sleep(0)
    try:
        answers = await asyncio.gather(
            *(group.submit(f"note {n}") for n in range(50)),
            group.submit("refuse me"),
            return_exceptions=True,
        )
        assert answers[:50] == [len(f"note {n}") for n in range(50)]
        assert isinstance(answers[50], Problem) and answers[50].status_code == 409
        assert group.batches < 10 and group.items == 51
    finally:
        writer.cancel()
        await db.dispose()


async def test_a_failing_item_rolls_back_its_batch_and_only_itself(tmp_path: Path) -> None:
    db = await _database(tmp_path)
    group: GroupCommit[str, int] = GroupCommit(_write_notes)
    writer = asyncio.create_task(group.run(db))
    await asyncio.sleep(0)
    try:
        # The second "twin" breaks the unique constraint: the batch rolls back, the items
        # are tried one by one, and only the duplicate fails.
        answers = await asyncio.gather(
            group.submit("one"),
            group.submit("twin"),
            group.submit("twin"),
            group.submit("three"),
            return_exceptions=True,
        )
        assert answers[0] == 3 and answers[1] == 4 and answers[3] == 5
        assert isinstance(answers[2], Problem) and answers[2].status_code == 500
        async with db.session() as session:
            stored = await session.exec(select(func.count()).select_from(note))  # type: ignore[call-overload]
            assert stored.one()[0] == 3
    finally:
        writer.cancel()
        await db.dispose()


async def test_group_commit_refuses_work_while_not_running() -> None:
    group: GroupCommit[str, int] = GroupCommit(_write_notes)
    with pytest.raises(Problem) as refused:
        await group.submit("too early")
    assert refused.value.status_code == 503
