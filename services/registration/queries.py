"""Reads of the registration service: rows and domain values, for the API, pages and commands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.registration import attendance, domain, links, statistics
from services.registration.tables import (
    EvaluationCountRow,
    ParticipantRow,
    QuotaRow,
    RegistrationRow,
    TrainingRow,
)
from shared import tokens
from shared.countries import all_countries
from shared.errors import NotFound
from shared.settings import Settings
from shared.staff import Staff
from shared.structs import carried


async def training(session: AsyncSession, training_id: str) -> TrainingRow:
    row = await session.get(TrainingRow, training_id)
    if row is None:
        raise NotFound(f"no training {training_id}", field="training_id")
    return row


async def published_trainings(session: AsyncSession) -> list[TrainingRow]:
    rows = await session.exec(
        select(TrainingRow)
        .where(TrainingRow.status == "published")
        .order_by(col(TrainingRow.starts_on), col(TrainingRow.title))
    )
    return list(rows)


async def waitlist_position(session: AsyncSession, row: RegistrationRow) -> int | None:
    if row.status != "waitlisted":
        return None
    ahead = await session.exec(
        select(func.count())
        .select_from(RegistrationRow)
        .where(RegistrationRow.training_id == row.training_id)
        .where(RegistrationRow.status == "waitlisted")
        .where(col(RegistrationRow.arrival) < row.arrival)
    )
    return int(ahead.one()) + 1


async def waitlist_of(session: AsyncSession, training_id: str) -> dict[str, int]:
    """Registration id -> place on the training's waitlist, in one query."""
    waiting = await session.exec(
        select(RegistrationRow.id)
        .where(RegistrationRow.training_id == training_id)
        .where(RegistrationRow.status == "waitlisted")
        .order_by(col(RegistrationRow.arrival))
    )
    return domain.waitlist_positions(waiting)


async def get_registration(session: AsyncSession, registration_id: str) -> RegistrationRow:
    row = (
        await session.exec(select(RegistrationRow).where(RegistrationRow.id == registration_id))
    ).first()
    if row is None:
        raise NotFound(f"no registration {registration_id}")
    return row


async def by_manage_token(session: AsyncSession, token: str) -> RegistrationRow | None:
    """The registration this manage token opens, compared in constant time."""
    if not token or len(token) > 100:
        return None
    row = (
        await session.exec(
            select(RegistrationRow).where(
                RegistrationRow.manage_token_sha256 == tokens.digest(token)
            )
        )
    ).first()
    if row is None or row.erased_at is not None:
        return None
    if not tokens.matches(token, row.manage_token_sha256):
        return None
    return row


async def host_of_registration(session: AsyncSession, registration_id: str) -> str | None:
    """The host country of the registration's training (None: no such registration)."""
    return (
        await session.exec(
            select(TrainingRow.host_country)
            .join(RegistrationRow, col(RegistrationRow.training_id) == TrainingRow.id)
            .where(RegistrationRow.id == registration_id)
        )
    ).first()


async def quotas_of(session: AsyncSession, training_id: str) -> dict[str, int]:
    rows = await session.exec(
        select(QuotaRow).where(QuotaRow.training_id == training_id).order_by(col(QuotaRow.country))
    )
    return {row.country: row.maximum for row in rows}


async def participant_calendar_url(
    session: AsyncSession, settings: Settings, participant_id: str
) -> str | None:
    person = await session.get(ParticipantRow, participant_id)
    if person is None or person.erased_at is not None:
        return None
    return links.calendar_url(settings, person.id, person.feed_generation)


def countries_matching(needle: str) -> list[str]:
    """The codes of the countries a search names: by code, or by a part of the name."""
    lowered = needle.lower()
    named = [c.code for c in all_countries() if len(lowered) > 2 and lowered in c.name.lower()]
    return [needle.upper(), *named] if len(needle) == 2 else named


async def managed_trainings(session: AsyncSession, staff: Staff) -> list[TrainingRow]:
    """The catalogue's trainings this staff member manages, the latest first."""
    query = select(TrainingRow).order_by(col(TrainingRow.starts_on).desc(), col(TrainingRow.title))
    if not staff.is_secretariat:
        query = query.where(col(TrainingRow.host_country).in_(sorted(staff.countries)))
    return list(await session.exec(query))


async def status_counts(
    session: AsyncSession, training_ids: list[str]
) -> dict[str, dict[str, int]]:
    """Training id -> status -> how many registrations, with "checked_in" among them."""
    counts: dict[str, dict[str, int]] = {training_id: {} for training_id in training_ids}
    if not training_ids:
        return counts
    by_status = await session.exec(
        select(RegistrationRow.training_id, RegistrationRow.status, func.count())
        .where(col(RegistrationRow.training_id).in_(training_ids))
        .group_by(col(RegistrationRow.training_id), col(RegistrationRow.status))
    )
    for training_id, status, count in by_status:
        counts[training_id][status] = int(count)
    checked = await session.exec(
        select(RegistrationRow.training_id, func.count())
        .where(col(RegistrationRow.training_id).in_(training_ids))
        .where(col(RegistrationRow.checked_in_at).is_not(None))
        .group_by(col(RegistrationRow.training_id))
    )
    for training_id, count in checked:
        counts[training_id]["checked_in"] = int(count)
    return counts


@dataclass(frozen=True)
class Filters:
    """How staff narrow a training's list of registrations."""

    status: str | None = None
    country: str | None = None
    checked_in: bool | None = None
    q: str | None = None


async def registrations(
    session: AsyncSession, training_id: str, filters: Filters, limit: int, offset: int
) -> tuple[list[tuple[RegistrationRow, int | None, list[date]]], int]:
    """A page of the training's registrations in arrival order, each with its waitlist
    place and the days attended, and how many match in all."""
    query = select(RegistrationRow).where(RegistrationRow.training_id == training_id)
    if filters.status:
        query = query.where(
            col(RegistrationRow.status).in_(domain.parse_statuses(filters.status.split(",")))
        )
    if filters.country:
        query = query.where(RegistrationRow.country == filters.country.upper())
    if filters.checked_in is not None:
        checked = col(RegistrationRow.checked_in_at)
        query = query.where(checked.is_not(None) if filters.checked_in else checked.is_(None))
    if filters.q and filters.q.strip():
        needle = filters.q.strip()
        query = query.where(
            col(RegistrationRow.name).icontains(needle, autoescape=True)
            | col(RegistrationRow.email).icontains(needle, autoescape=True)
            | col(RegistrationRow.organisation).icontains(needle, autoescape=True)
            | col(RegistrationRow.country).in_(countries_matching(needle))
        )
    total = (await session.exec(select(func.count()).select_from(query.subquery()))).one()
    rows = list(
        await session.exec(query.order_by(col(RegistrationRow.arrival)).limit(limit).offset(offset))
    )
    positions = await waitlist_of(session, training_id)
    days = await attendance.days_by_registration(session, [row.id for row in rows])
    return [(row, positions.get(row.id), days[row.id]) for row in rows], int(total)


async def statistics_facts(
    session: AsyncSession,
) -> tuple[list[statistics.TrainingFacts], list[statistics.Seat], list[statistics.Responses]]:
    """What the series statistics are made of: the trainings, the confirmed registrations
    (checked in or not) and evaluation's counts per training, right after the training."""
    trainings = [
        carried(statistics.TrainingFacts, row) for row in await session.exec(select(TrainingRow))
    ]
    seats = [
        statistics.Seat(training_id, participant_id, country, checked_in_at is not None)
        for training_id, participant_id, country, checked_in_at in await session.exec(
            select(
                RegistrationRow.training_id,
                RegistrationRow.participant_id,
                RegistrationRow.country,
                RegistrationRow.checked_in_at,
            ).where(RegistrationRow.status == "confirmed")
        )
    ]
    counts = await session.exec(
        select(
            EvaluationCountRow.training_id,
            func.sum(EvaluationCountRow.invited),
            func.sum(EvaluationCountRow.answered),
        )
        .where(EvaluationCountRow.stage == "evaluation")
        .group_by(col(EvaluationCountRow.training_id))
    )
    responses = [
        statistics.Responses(training_id, int(invited or 0), int(answered or 0))
        for training_id, invited, answered in counts
    ]
    return trainings, seats, responses
