"""Reads of the scheduling service: trainings the caller may see, sessions, conflicts, changes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import and_, col, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.scheduling import conflicts, domain
from services.scheduling.tables import (
    ChangeRow,
    EnrolmentRow,
    SeriesRow,
    SessionRow,
    TrainingRow,
)
from shared.errors import NotFound
from shared.rows import row_or_404
from shared.staff import Staff


async def training(reading: AsyncSession, training_id: str) -> TrainingRow:
    return await row_or_404(reading, TrainingRow, training_id, f"no training {training_id}")


async def training_for(reading: AsyncSession, training_id: str, who: Staff | None) -> TrainingRow:
    """The training if the caller may see it; NotFound otherwise (drafts are staff-only)."""
    found = await training(reading, training_id)
    if not domain.visible_to(found.status, found.host_country, who):
        raise NotFound(f"no training {training_id}")
    return found


async def host_of_visible_training(
    reading: AsyncSession, training_id: str, who: Staff
) -> str | None:
    """The host country, for the guard; None for no training or a draft the caller may not see."""
    found = await reading.get(TrainingRow, training_id)
    if found is None or not domain.visible_to(found.status, found.host_country, who):
        return None
    return found.host_country


@dataclass(frozen=True)
class TrainingFilters:
    series: str | None = None
    status: str | None = None
    host_country: str | None = None
    limit: int = 100
    offset: int = 0


async def trainings(
    reading: AsyncSession, who: Staff | None, filters: TrainingFilters
) -> list[tuple[TrainingRow, list[SessionRow]]]:
    """Published trainings for everyone; staff also see their own countries' drafts."""
    query = select(TrainingRow)
    if who is None:
        query = query.where(TrainingRow.status != "draft")
    elif not who.is_secretariat:
        query = query.where(
            or_(TrainingRow.status != "draft", col(TrainingRow.host_country).in_(who.countries))
        )
    if filters.series:
        query = query.where(TrainingRow.series == filters.series)
    if filters.status:
        query = query.where(TrainingRow.status == filters.status)
    if filters.host_country:
        query = query.where(TrainingRow.host_country == filters.host_country.upper())
    query = query.order_by(col(TrainingRow.starts_on), col(TrainingRow.id))
    found = list(await reading.exec(query.offset(filters.offset).limit(filters.limit)))
    ids = [t.id for t in found]
    by_training: dict[str, list[SessionRow]] = {i: [] for i in ids}
    if ids:
        rows = await reading.exec(
            select(SessionRow)
            .where(col(SessionRow.training_id).in_(ids))
            .order_by(col(SessionRow.starts_at), col(SessionRow.id))
        )
        for row in rows:
            by_training[row.training_id].append(row)
    return [(t, by_training[t.id]) for t in found]


async def sessions_of(reading: AsyncSession, training_id: str) -> list[SessionRow]:
    rows = await reading.exec(
        select(SessionRow)
        .where(SessionRow.training_id == training_id)
        .order_by(col(SessionRow.starts_at), col(SessionRow.id))
    )
    return list(rows)


async def session_of(reading: AsyncSession, training_id: str, session_id: str) -> SessionRow:
    found = await reading.get(SessionRow, session_id)
    if found is None or found.training_id != training_id:
        raise NotFound(f"no session {session_id} in training {training_id}")
    return found


async def changes_of(reading: AsyncSession, training_id: str) -> list[ChangeRow]:
    rows = await reading.exec(
        select(ChangeRow).where(ChangeRow.training_id == training_id).order_by(col(ChangeRow.id))
    )
    return list(rows)


async def all_series(reading: AsyncSession, *, by_title: bool = False) -> list[SeriesRow]:
    order = col(SeriesRow.title) if by_title else col(SeriesRow.slug)
    return list(await reading.exec(select(SeriesRow).order_by(order)))


async def listed_trainings(reading: AsyncSession, series: str | None = None) -> list[TrainingRow]:
    """Trainings the public pages list (all but drafts), by first day; of one series if given."""
    query = select(TrainingRow).where(col(TrainingRow.status).in_(domain.LISTED))
    if series is not None:
        query = query.where(TrainingRow.series == series)
    return list(await reading.exec(query.order_by(col(TrainingRow.starts_on), col(TrainingRow.id))))


async def tallies(reading: AsyncSession, ids: list[str]) -> dict[str, dict[str, int]]:
    """Registrations per training and status, from the registration events scheduling keeps."""
    found: dict[str, dict[str, int]] = {i: {} for i in ids}
    if ids:
        rows = await reading.exec(
            select(EnrolmentRow.training_id, EnrolmentRow.status, func.count())
            .where(col(EnrolmentRow.training_id).in_(ids))
            .group_by(col(EnrolmentRow.training_id), col(EnrolmentRow.status))
        )
        for training_id, status, count in rows:
            found[training_id][status] = count
    return found


async def series(reading: AsyncSession, slug: str) -> SeriesRow:
    return await row_or_404(reading, SeriesRow, slug, f"no series {slug}")


async def hosts_of_series(reading: AsyncSession, slug: str) -> set[str]:
    rows = await reading.exec(
        select(TrainingRow.host_country).where(TrainingRow.series == slug).distinct()
    )
    return set(rows)


# --- conflicts ----------------------------------------------------------------


def _slot(session: SessionRow, training: TrainingRow) -> conflicts.Slot:
    speakers = tuple(speaker["name"] for speaker in session.speakers)
    where = conflicts.place(training.city, training.venue)
    return conflicts.Slot(
        session.id, training.id, training.title, training.timezone, session.title,
        session.starts_at, session.ends_at, session.room, speakers, where, training.host_country,
    )  # fmt: skip


async def conflicts_of(
    reading: AsyncSession, training: TrainingRow, who: Staff | None
) -> list[conflicts.Conflict]:
    """The training's conflicts, also with other trainings the caller may see.

    Other trainings count when published or completed, or when they are drafts
    the caller manages: a conflict never reveals another country's draft.
    """
    return (await conflicts_of_each(reading, [training], who))[training.id]


async def conflicts_of_each(
    reading: AsyncSession, trainings: Sequence[TrainingRow], who: Staff | None
) -> dict[str, list[conflicts.Conflict]]:
    """`conflicts_of` for each training, in two queries and one pass however many there
    are (the staff home shows the count for every training of the caller's). The trainings
    are ones the caller may see."""
    by_id = {t.id: t for t in trainings}
    own: dict[str, list[conflicts.Slot]] = {t.id: [] for t in trainings}
    if not by_id:
        return {}
    rows = await reading.exec(
        select(SessionRow)
        .where(col(SessionRow.training_id).in_(list(by_id)))
        .where(SessionRow.status != "cancelled")
    )
    for row in rows:
        own[row.training_id].append(_slot(row, by_id[row.training_id]))
    spans = _spans(
        [(min(s.starts_at for s in m), max(s.ends_at for s in m)) for m in own.values() if m]
    )
    around: list[conflicts.Slot] = []
    if spans:
        near = await reading.exec(
            select(SessionRow, TrainingRow)
            .join(TrainingRow, col(SessionRow.training_id) == col(TrainingRow.id))
            .where(col(TrainingRow.id).not_in(list(by_id)))
            .where(TrainingRow.status != "cancelled")
            .where(SessionRow.status != "cancelled")
            .where(
                or_(
                    *(
                        and_(col(SessionRow.starts_at) < last, col(SessionRow.ends_at) > first)
                        for first, last in spans
                    )
                )
            )
        )
        around = [_slot(s, t) for s, t in near if domain.visible_to(t.status, t.host_country, who)]
    dates = {t.id: (t.starts_on, t.ends_on, t.timezone) for t in trainings}
    return conflicts.find_each(dates, own, around)


def _spans(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """The time spans of the trainings' sessions, overlapping ones merged: other trainings'
    sessions count only within them."""
    merged: list[tuple[datetime, datetime]] = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def involving(found: Iterable[conflicts.Conflict], session_id: str) -> list[conflicts.Conflict]:
    return [c for c in found if any(slot.id == session_id for slot in c.sessions)]
