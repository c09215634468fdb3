"""What the API and the pages show of nominations: a country's nominations as its focal point
sees them, a training's focal points and nominations as its organisers see them."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.registration import nomination_rules as rules
from services.registration.nomination_schemas import (
    CountryNominations,
    FocalPointOut,
    NominationOut,
)
from services.registration.tables import FocalPointRow, NominationRow, TrainingRow, quota
from shared import tokens
from shared.clock import clock
from shared.structs import carried

L = TypeVar("L", FocalPointRow, NominationRow)


def nomination_out(row: NominationRow) -> NominationOut:
    return carried(NominationOut, row, number=row.number or 0)


def focal_point_out(row: FocalPointRow) -> FocalPointOut:
    return carried(FocalPointOut, row)


def closes_at(training: TrainingRow) -> datetime:
    return rules.deadline(
        training.nominations_close_at,
        training.registration_closes_at,
        training.starts_on,
        training.timezone,
    )


async def _holding_link(session: AsyncSession, table: type[L], token: str) -> L | None:
    """The row whose link this token is; an erased one's link no longer works."""
    row = (
        await session.exec(select(table).where(col(table.token_sha256) == tokens.digest(token)))
    ).first()
    return row if row is not None and row.erased_at is None else None


async def focal_point(session: AsyncSession, token: str) -> FocalPointRow | None:
    return await _holding_link(session, FocalPointRow, token)


async def nominee(session: AsyncSession, token: str) -> NominationRow | None:
    return await _holding_link(session, NominationRow, token)


async def nominations(
    session: AsyncSession, training_id: str, country: str | None = None
) -> list[NominationRow]:
    query = select(NominationRow).where(NominationRow.training_id == training_id)
    if country is not None:
        query = query.where(NominationRow.country == country)
    return list(await session.exec(query.order_by(col(NominationRow.number))))


async def focal_points(session: AsyncSession, training_id: str) -> list[FocalPointRow]:
    return list(
        await session.exec(
            select(FocalPointRow)
            .where(FocalPointRow.training_id == training_id)
            .where(col(FocalPointRow.erased_at).is_(None))
            .order_by(col(FocalPointRow.country), col(FocalPointRow.created_at))
        )
    )


async def country_nominations(
    session: AsyncSession, training: TrainingRow, country: str
) -> CountryNominations:
    """Only the focal point's own country: another country's nominees are not theirs to see."""
    maximum = (
        await session.exec(
            select(quota.c.maximum)
            .where(quota.c.training_id == training.id)
            .where(quota.c.country == country)
        )
    ).first()
    rows = await nominations(session, training.id, country)
    closes = closes_at(training)
    return CountryNominations(
        training_id=training.id,
        country=country,
        quota=maximum,
        holding=sum(1 for row in rows if row.status in rules.HOLDING),
        closes_at=closes,
        open=training.status == "published" and clock.now() < closes,
        items=[nomination_out(row) for row in rows],
    )
