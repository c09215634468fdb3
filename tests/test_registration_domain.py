"""Registration's rules without I/O, and the group commit that writes registrations."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from services.registration import attendance_days, domain
from services.registration.attendance_days import check_in_allowed
from services.registration.batching import GroupCommit
from services.registration.domain import Seats, Window, check_open
from shared.db import Database, UnitOfWork
from shared.errors import Conflict, Invalid, Unavailable
from shared.events import contracts as ev
from shared.problems import status_of
from shared.settings import Settings, load_settings
from tests.support import SECRET

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
    with pytest.raises(Conflict) as refused:
        check_open(_window(), late, by_staff=False)
    assert status_of(refused.value) == 409
    with pytest.raises(Conflict):
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
        with pytest.raises(Conflict):
            check_in_allowed(status, training_status, first_day, "Europe/Tallinn", now)


# --- submissions, filters and quotas ----------------------------------------------------


class _Submission:
    def __init__(self, **changes: object) -> None:
        self.name = "Mari Maasikas"
        self.organisation = "Tallinn City"
        self.country = "EE"
        self.consent = True
        self.__dict__.update(changes)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"consent": False}, "consent"),
        ({"country": "XX"}, "country"),
        ({"name": "  "}, "name"),
        ({"organisation": " "}, "organisation"),
    ],
)
def test_a_submission_is_refused_naming_the_field(changes: dict[str, object], field: str) -> None:
    domain.check_submission(_Submission(), date(2009, 4, 1))
    with pytest.raises(Invalid) as refused:
        domain.check_submission(_Submission(**changes), date(2009, 4, 1))
    assert refused.value.field == field


def test_statuses_to_filter_by_must_be_known() -> None:
    assert domain.parse_statuses(["confirmed", "pending"]) == ["confirmed", "pending"]
    with pytest.raises(Invalid) as refused:
        domain.parse_statuses(["confirmed", "lost"])
    assert refused.value.field == "status"


def test_quotas_are_upper_cased_and_each_bad_one_names_its_country() -> None:
    assert domain.check_quotas({"ee": 2, "LV": 0}) == {"EE": 2, "LV": 0}
    for quotas, field in (({"XX": 1}, "XX"), ({"EE": -1}, "EE"), ({"EE": 100_001}, "EE")):
        with pytest.raises(Invalid) as refused:
            domain.check_quotas(quotas)
        assert refused.value.field == field


# --- transitions ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", domain.ACTIVE)
def test_cancelling_an_active_registration_frees_only_a_held_seat(status: str) -> None:
    change = domain.cancelled(status)
    assert (change.status, change.waitlist_reason) == ("cancelled", None)
    assert change.frees_seat == (status == "confirmed")
    assert change.event is ev.RegistrationCancelled


@pytest.mark.parametrize("status", domain.ACTIVE)
def test_declining_an_active_registration_frees_only_a_held_seat(status: str) -> None:
    change = domain.declined(status)
    assert change.status == "declined" and change.event is ev.RegistrationDeclined
    assert change.frees_seat == (status == "confirmed")


@pytest.mark.parametrize("status", ["cancelled", "declined"])
def test_an_ended_registration_cannot_end_again(status: str) -> None:
    for transition in (domain.cancelled, domain.declined):
        with pytest.raises(Conflict):
            transition(status)


def test_approval_confirms_while_seats_are_left_and_then_waitlists() -> None:
    seats = Seats(capacity=1, taken=0)
    first = domain.approved("pending", "EE", seats)
    assert (first.status, first.event) == ("confirmed", ev.RegistrationConfirmed)
    second = domain.approved("pending", "EE", seats)
    assert (second.status, second.waitlist_reason) == ("waitlisted", "full")
    assert second.event is ev.RegistrationWaitlisted


def test_approval_respects_the_country_quota() -> None:
    seats = Seats(capacity=5, taken=0, quotas={"EE": 0})
    assert domain.approved("pending", "EE", seats).waitlist_reason == "country_quota"


@pytest.mark.parametrize("status", ["confirmed", "waitlisted", "declined", "cancelled"])
def test_only_a_pending_registration_can_be_approved(status: str) -> None:
    with pytest.raises(Conflict):
        domain.approved(status, "EE", Seats(capacity=5, taken=0))


def test_a_promotion_confirms() -> None:
    change = domain.promoted()
    assert (change.status, change.waitlist_reason, change.event) == (
        "confirmed",
        None,
        ev.RegistrationConfirmed,
    )


@dataclass(frozen=True)
class TwoDays:
    starts_on: date = date(2009, 5, 25)
    ends_on: date = date(2009, 5, 26)
    timezone: str = "Atlantic/Reykjavik"
    status: str = "published"


def test_a_check_in_is_for_today_by_default_and_twice_is_once() -> None:
    training = TwoDays()
    first_day = datetime(2009, 5, 25, 9, tzinfo=UTC)
    assert attendance_days.day_changed("confirmed", training, [], None, first_day) == date(
        2009, 5, 25
    )
    assert (
        attendance_days.day_changed("confirmed", training, [date(2009, 5, 25)], None, first_day)
        is None
    )
    with pytest.raises(Conflict):
        attendance_days.day_changed("pending", training, [], None, first_day)


def test_a_day_outside_the_training_or_in_the_future_is_refused_naming_day() -> None:
    training = TwoDays()
    first_day = datetime(2009, 5, 25, 9, tzinfo=UTC)
    for day in (date(2009, 5, 24), date(2009, 5, 27), date(2009, 5, 26)):
        with pytest.raises(Invalid) as refused:
            attendance_days.day_changed("confirmed", training, [], day, first_day)
        assert refused.value.field == "day"
    with pytest.raises(Invalid):
        attendance_days.parse_day("26 May")
    # Without a day, a check-in recorded after the training is for its last day.
    later = datetime(2009, 6, 1, 9, tzinfo=UTC)
    assert attendance_days.day_changed("confirmed", training, [], None, later) == date(2009, 5, 26)


def test_only_the_secretariat_corrects_attendance_after_completion() -> None:
    completed = TwoDays(status="completed")
    later = datetime(2009, 6, 1, 9, tzinfo=UTC)
    with pytest.raises(Conflict):
        attendance_days.day_changed("confirmed", completed, [], date(2009, 5, 26), later)
    corrected = attendance_days.day_changed(
        "confirmed", completed, [], date(2009, 5, 26), later, correcting=True
    )
    assert corrected == date(2009, 5, 26)
    attended = [date(2009, 5, 25)]
    with pytest.raises(Conflict):
        attendance_days.day_changed(
            "confirmed", completed, attended, date(2009, 5, 25), later, undo=True
        )
    assert attendance_days.day_changed(
        "confirmed", completed, attended, date(2009, 5, 25), later, undo=True, correcting=True
    )
    assert (
        attendance_days.day_changed(
            "confirmed", completed, attended, date(2009, 5, 26), later, undo=True, correcting=True
        )
        is None
    )


def test_a_certificate_needs_every_day_of_the_training() -> None:
    training = TwoDays()
    assert attendance_days.training_days(training) == [date(2009, 5, 25), date(2009, 5, 26)]
    assert not attendance_days.attended_every_day(training, [date(2009, 5, 25)])
    assert attendance_days.attended_every_day(training, [date(2009, 5, 25), date(2009, 5, 26)])


def test_how_a_training_ended_holds_over_a_late_catalogue_status() -> None:
    assert domain.status_after("published", None) == "published"
    assert domain.status_after("published", "cancelled") == "cancelled"


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


def _settings(tmp_path: Path) -> Settings:
    return load_settings({"CAPITALS_DATA_DIR": str(tmp_path), "CAPITALS_SECRET": SECRET})


async def _write_notes(
    uow: UnitOfWork, _: Settings, texts: Sequence[str]
) -> list[int | BaseException]:
    results: list[int | BaseException] = []
    for text in texts:
        if text.startswith("refuse"):
            results.append(Conflict(f"{text} is refused"))
            continue
        await uow.execute(insert(note).values(text=text))
        results.append(len(text))
    return results


@asynccontextmanager
async def _writing_notes(tmp_path: Path) -> AsyncIterator[tuple[Database, GroupCommit[str, int]]]:
    """A group commit of notes, running on a scratch database until the block ends."""
    db = await _database(tmp_path)
    group: GroupCommit[str, int] = GroupCommit(_write_notes)
    writer = asyncio.create_task(group.run(db, _settings(tmp_path)))
    await asyncio.sleep(0)
    try:
        yield db, group
    finally:
        writer.cancel()
        await db.dispose()


async def test_group_commit_writes_queued_items_together_and_answers_each(tmp_path: Path) -> None:
    async with _writing_notes(tmp_path) as (_, group):
        answers = await asyncio.gather(
            *(group.submit(f"note {n}") for n in range(50)),
            group.submit("refuse me"),
            return_exceptions=True,
        )
        assert answers[:50] == [len(f"note {n}") for n in range(50)]
        assert isinstance(answers[50], Conflict) and status_of(answers[50]) == 409
        assert group.batches < 10 and group.items == 51


async def test_a_failing_item_rolls_back_its_batch_and_only_itself(tmp_path: Path) -> None:
    async with _writing_notes(tmp_path) as (db, group):
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
        # A failed write is an internal error (500) for its caller alone.
        assert isinstance(answers[2], RuntimeError)
        async with db.session() as session:
            stored = await session.exec(select(func.count()).select_from(note))  # type: ignore[call-overload]
            assert stored.one()[0] == 3


async def test_group_commit_refuses_work_while_not_running() -> None:
    group: GroupCommit[str, int] = GroupCommit(_write_notes)
    with pytest.raises(Unavailable) as refused:
        await group.submit("too early")
    assert status_of(refused.value) == 503
