"""What organisers, focal points and the release job do to nominations, each in one unit of
work: name a focal point, nominate, withdraw, offer places as they free up, and give unused
quotas to other countries' waiting nominees once nominations close.

A nominee takes their place through the registration intake (intake.py), which calls
`claim` and `mark_registered` in the batch that writes the registration."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.registration import audits, nomination_mails
from services.registration import nomination_rules as rules
from services.registration import nomination_views as views
from services.registration.nomination_schemas import FocalPointIn, NominationIn
from services.registration.nomination_views import closes_at
from services.registration.seats import training_for_update
from services.registration.tables import FocalPointRow, NominationRow, TrainingRow, quota
from shared import tokens
from shared.audit import audited
from shared.clock import clock
from shared.commands import OneTraining
from shared.countries import is_country
from shared.db import UnitOfWork
from shared.errors import Conflict, Invalid, NotFound
from shared.events import contracts as ev
from shared.settings import Settings
from shared.staff import Staff
from shared.structs import carried

if TYPE_CHECKING:
    from shared.service import Runtime


@dataclass(frozen=True)
class NameFocalPoint(OneTraining):
    data: FocalPointIn


@dataclass(frozen=True)
class ByFocalPoint:
    """The input of a command by a focal point, known by their link's token."""

    token: str


@dataclass(frozen=True)
class Nominate(ByFocalPoint):
    """A focal point nominates one person."""

    data: NominationIn


@dataclass(frozen=True)
class Withdraw(ByFocalPoint):
    nomination_id: str


async def focal_point_by_token(uow: UnitOfWork, token: str) -> FocalPointRow:
    """The focal point holding this link; any other token learns nothing (404)."""
    row = await views.focal_point(uow.session, token)
    if row is None:
        raise NotFound("no such nomination link", field="token")
    return row


@audited("focal_point.named", audits.focal_point)
async def name_focal_point(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: NameFocalPoint
) -> FocalPointRow:
    """A national focal point for one country of a training by nomination, mailed their link."""
    data = input.data
    if not data.name.strip():
        raise Invalid("name must not be blank", field="name")
    code = data.country.upper()
    if not is_country(code):
        raise Invalid(f"{data.country!r} is not an ISO 3166-1 country code", field="country")
    training = await training_for_update(uow, input.training_id)
    if not training.by_nomination:
        raise Conflict("this training is not by nomination", field="training")
    taken = (
        await uow.session.exec(
            select(FocalPointRow.id)
            .where(FocalPointRow.training_id == training.id)
            .where(FocalPointRow.country == code)
            .where(FocalPointRow.email == data.email)
        )
    ).first()
    if taken is not None:
        raise Conflict("this person is already a focal point of that country", field="email")
    row = FocalPointRow(
        id=str(uuid.uuid4()),
        training_id=training.id,
        country=code,
        name=data.name.strip(),
        email=data.email,
        token_sha256="",
        created_at=clock.now(),
    )
    row.token_sha256 = tokens.digest(nomination_mails.focal_point_token(settings, row.id))
    uow.session.add(row)
    uow.emit(ev.FocalPointNamed(id=row.id, revision=1, training_id=training.id, country=code))
    uow.send_mail(nomination_mails.focal_point_named(settings, training, row, code))
    return row


async def _quota_of(uow: UnitOfWork, training_id: str, country: str) -> int | None:
    return (
        await uow.execute(
            select(quota.c.maximum)
            .where(quota.c.training_id == training_id)
            .where(quota.c.country == country)
        )
    ).scalar_one_or_none()


async def holding(session: AsyncSession, training_id: str) -> dict[str, int]:
    """Per country, the nominations that use one of its places."""
    return {
        country: count
        for country, count in await session.exec(
            select(NominationRow.country, func.count())
            .where(NominationRow.training_id == training_id)
            .where(col(NominationRow.status).in_(rules.HOLDING))
            .group_by(col(NominationRow.country))
        )
    }


def announce(
    uow: UnitOfWork, settings: Settings, training: TrainingRow, row: NominationRow
) -> None:
    """Announce a nomination's new state; an offer or a wait is mailed to the nominee."""
    _emit(uow, row)
    if row.status in (rules.OFFERED, rules.WAITING) and row.erased_at is None:
        uow.send_mail(nomination_mails.nominee_mail(settings, training, row))


def _emit(uow: UnitOfWork, row: NominationRow) -> None:
    uow.emit(carried(ev.NOMINATION_EVENTS[row.status], row))


def _revise(row: NominationRow, status: str, now: datetime) -> None:
    row.status = status
    row.revision += 1
    row.updated_at = now


async def nominate(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: Nominate
) -> NominationRow:
    """Offered a place while the country's quota has room, else waiting in nomination order."""
    now = clock.now()
    point = await focal_point_by_token(uow, input.token)
    training = await training_for_update(uow, point.training_id)
    rules.check_nominating(training.status, training.by_nomination, now, closes_at(training))
    data = input.data
    for name in ("name", "organisation"):
        if not getattr(data, name).strip():
            raise Invalid(f"{name} must not be blank", field=name)
    again = (
        await uow.session.exec(
            select(NominationRow.id)
            .where(NominationRow.training_id == training.id)
            .where(NominationRow.email == data.email)
            .where(NominationRow.status != rules.WITHDRAWN)
        )
    ).first()
    if again is not None:
        raise Conflict("this person is already nominated for this training", field="email")
    quota_now = await _quota_of(uow, training.id, point.country)
    held = (await holding(uow.session, training.id)).get(point.country, 0)
    nomination_id = str(uuid.uuid4())
    row = NominationRow(
        id=nomination_id,
        training_id=training.id,
        country=point.country,
        focal_point_id=point.id,
        name=data.name.strip(),
        email=data.email,
        organisation=data.organisation.strip(),
        position=data.position.strip() if data.position else None,
        status=rules.status_for_new(quota_now, held),
        token_sha256=tokens.digest(nomination_mails.nominee_token(settings, nomination_id)),
        created_at=now,
        updated_at=now,
    )
    uow.session.add(row)
    await uow.session.flush()
    announce(uow, settings, training, row)
    return row


async def withdraw(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: Withdraw
) -> NominationRow:
    """The focal point withdraws a nominee not yet registered; a place it held goes to the
    country's next waiting nominee."""
    now = clock.now()
    point = await focal_point_by_token(uow, input.token)
    training = await training_for_update(uow, point.training_id)
    row = (
        await uow.session.exec(
            select(NominationRow)
            .where(NominationRow.id == input.nomination_id)
            .where(NominationRow.training_id == point.training_id)
            .where(NominationRow.country == point.country)
            .execution_options(populate_existing=True)
        )
    ).first()
    if row is None:
        raise NotFound(f"no nomination {input.nomination_id}", field="nomination_id")
    rules.check_withdrawable(row.status)
    _revise(row, rules.WITHDRAWN, now)
    uow.session.add(row)
    await uow.session.flush()
    announce(uow, settings, training, row)
    await offer_places(uow, settings, training, now)
    return row


@dataclass(frozen=True)
class Offers:
    """Who is offered a place now, and the quota each released place moves with."""

    nominees: list[NominationRow]
    moves: list[tuple[str, str]]  # (from country, to country), one per released place


async def offers_due(session: AsyncSession, training: TrainingRow, now: datetime) -> Offers:
    """Each country's free places for its waiting nominees in nomination order; after the
    deadline, unused quotas for other countries' waiting nominees. Read only."""
    none = Offers([], [])
    if training.status != "published":
        return none
    waiting = list(
        await session.exec(
            select(NominationRow)
            .where(NominationRow.training_id == training.id)
            .where(NominationRow.status == rules.WAITING)
            .order_by(col(NominationRow.number))
            .execution_options(populate_existing=True)
        )
    )
    if not waiting:
        return none
    quotas = {
        country: maximum
        for country, maximum in await session.exec(
            select(quota.c.country, quota.c.maximum).where(quota.c.training_id == training.id)
        )
    }
    held = await holding(session, training.id)
    offered: list[NominationRow] = []
    for country in sorted({row.country for row in waiting}):
        own = [row for row in waiting if row.country == country]
        count = rules.offers_within_quota(quotas.get(country), held.get(country, 0), len(own))
        offered.extend(own[:count])
        held[country] = held.get(country, 0) + count
    moves: list[tuple[str, str]] = []
    if now >= closes_at(training):
        chosen = {row.id for row in offered}
        still = [(row.id, row.country) for row in waiting if row.id not in chosen]
        by_id = {row.id: row for row in waiting}
        for nomination_id, donor in rules.released(quotas, held, still):
            offered.append(by_id[nomination_id])
            moves.append((donor, by_id[nomination_id].country))
    return Offers(sorted(offered, key=lambda r: r.number or 0), moves)


async def offer_places(
    uow: UnitOfWork, settings: Settings, training: TrainingRow, now: datetime
) -> int:
    """Make the offers due. The training's row is locked by the caller, so instances side
    by side do this once. Returns the offers."""
    due = await offers_due(uow.session, training, now)
    for donor, receiver in due.moves:
        # The place moves with its quota, so that registration confirms the nominee.
        await _move_quota(uow, training.id, donor, -1)
        await _move_quota(uow, training.id, receiver, +1)
    for row in due.nominees:
        _revise(row, rules.OFFERED, now)
        uow.session.add(row)
        announce(uow, settings, training, row)
    await uow.session.flush()
    return len(due.nominees)


async def _move_quota(uow: UnitOfWork, training_id: str, country: str, delta: int) -> None:
    await uow.execute(
        update(quota)
        .where(quota.c.training_id == training_id)
        .where(quota.c.country == country)
        .values(maximum=quota.c.maximum + delta)
    )


async def claim(uow: UnitOfWork, nomination_id: str, training_id: str) -> NominationRow:
    """The nomination a nominee confirms, if it is still offered (the batch holds the
    training's lock)."""
    row = (
        await uow.session.exec(
            select(NominationRow)
            .where(NominationRow.id == nomination_id)
            .where(NominationRow.training_id == training_id)
            .execution_options(populate_existing=True)
        )
    ).first()
    if row is None or row.erased_at is not None:
        raise NotFound("no such nomination", field="nomination")
    rules.check_confirmable(row.status)
    return row


async def mark_registered(
    uow: UnitOfWork, row: NominationRow, registration_id: str, now: datetime
) -> None:
    row.registration_id = registration_id
    _revise(row, rules.REGISTERED, now)
    uow.session.add(row)
    _emit(uow, row)


async def offer_waiting(runtime: Runtime) -> int:
    """The job's pass: every published training with waiting nominees, each under its lock
    in a unit of work of its own (instances side by side each find what is left)."""
    async with runtime.db.session() as session:
        training_ids = list(
            await session.exec(
                select(NominationRow.training_id)
                .where(NominationRow.status == rules.WAITING)
                .distinct()
                .order_by(col(NominationRow.training_id))
            )
        )
        # Most passes find nothing due: they say so without a write transaction.
        due = []
        for training_id in training_ids:
            training = await session.get(TrainingRow, training_id)
            if training is not None and (await offers_due(session, training, clock.now())).nominees:
                due.append(training_id)
    offered = 0
    for training_id in due:
        async with runtime.db.unit() as uow:
            training = await training_for_update(uow, training_id)
            offered += await offer_places(uow, runtime.settings, training, clock.now())
    return offered
