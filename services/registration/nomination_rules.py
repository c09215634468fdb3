"""Nomination rules: who among a country's nominees is offered a seat, when nominations close,
and how unused quotas go to other countries' waiting nominees; without I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from shared.errors import Conflict

OFFERED = "offered"
WAITING = "waiting"
REGISTERED = "registered"
WITHDRAWN = "withdrawn"
STATUSES = (OFFERED, WAITING, REGISTERED, WITHDRAWN)
# Nominations that use one of their country's places.
HOLDING = (OFFERED, REGISTERED)


def deadline(
    nominations_close_at: datetime | None,
    registration_closes_at: datetime | None,
    starts_on: date,
    timezone: str,
) -> datetime:
    """When nominations close: as set, else when registration closes, else when the first
    day begins locally (as registration's own window)."""
    return (
        nominations_close_at
        or registration_closes_at
        or datetime.combine(starts_on, datetime.min.time(), ZoneInfo(timezone))
    )


def status_for_new(quota: int | None, holding: int) -> str:
    """A new nominee is offered a seat while their country's quota has room; a country
    without a quota has no limit of its own (the training's capacity still holds)."""
    return OFFERED if quota is None or holding < quota else WAITING


def offers_within_quota(quota: int | None, holding: int, waiting: int) -> int:
    """How many of a country's waiting nominees (in nomination order) get an offer now."""
    room = waiting if quota is None else max(0, quota - holding)
    return min(room, waiting)


def check_nominating(
    training_status: str, by_nomination: bool, now: datetime, closes: datetime
) -> None:
    """Focal points nominate while the training is published, by nomination, and open."""
    if not by_nomination:
        raise Conflict("this training is not by nomination", field="training")
    if training_status != "published":
        raise Conflict(
            f"this training is {training_status}: nominations are closed", field="training"
        )
    if now >= closes:
        raise Conflict("nominations for this training have closed", field="training")


def check_confirmable(status: str) -> None:
    """Only a nominee offered a seat may take it (and only once)."""
    if status == OFFERED:
        return
    reasons = {
        WAITING: "your nomination is waiting for a place: we will write when one is yours",
        REGISTERED: "you have already confirmed this nomination",
        WITHDRAWN: "this nomination has been withdrawn",
    }
    raise Conflict(reasons.get(status, "this nomination cannot be confirmed"), field="nomination")


def check_withdrawable(status: str) -> None:
    if status not in (OFFERED, WAITING):
        raise Conflict(f"a nomination that is {status} cannot be withdrawn", field="nomination")


def released(
    quotas: Mapping[str, int],
    holding: Mapping[str, int],
    waiting: Sequence[tuple[str, str]],
) -> list[tuple[str, str]]:
    """Unused quotas after the deadline, given to other countries' waiting nominees.

    `waiting` is (nomination id, country) in nomination order. Each place a country left
    unused goes, in that order, to a nominee of another country; donors give in country
    order. Returns (nomination id, donor country) for each nominee who gets a place.
    """
    unused = {
        country: maximum - holding.get(country, 0)
        for country, maximum in sorted(quotas.items())
        if maximum > holding.get(country, 0)
    }
    given: list[tuple[str, str]] = []
    for nomination_id, country in waiting:
        donor = next((c for c, left in unused.items() if left > 0 and c != country), None)
        if donor is None:
            continue
        unused[donor] -= 1
        given.append((nomination_id, donor))
    return given
