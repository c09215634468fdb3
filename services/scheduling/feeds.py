"""Which sessions go into the training, series and personal feeds."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col, select

from services.scheduling.calendar import Feed, FeedSession, FeedSpeaker, build_feed, feed_etag
from services.scheduling.tables import (
    EnrolmentRow,
    FeedTokenRow,
    SeriesRow,
    SessionRow,
    TrainingRow,
)
from shared.db import Database

# Drafts never appear in a feed; a cancelled training stays, its sessions cancelled.
LISTED = ("published", "completed", "cancelled")


def webcal(url: str) -> str:
    return "webcal://" + url.split("://", 1)[1]


def etag(body: bytes) -> str:
    return feed_etag(body)


def _feed_sessions(
    base: str, trainings: Sequence[TrainingRow], sessions: Sequence[SessionRow]
) -> list[FeedSession]:
    by_id = {t.id: t for t in trainings}
    result = []
    for session in sessions:
        training = by_id[session.training_id]
        result.append(
            FeedSession(
                id=session.id,
                training_id=training.id,
                title=session.title,
                kind=session.kind,
                starts_at=session.starts_at,
                ends_at=session.ends_at,
                timezone=training.timezone,
                status="cancelled" if training.status == "cancelled" else session.status,
                sequence=session.sequence,
                revised_at=session.revised_at,
                room=session.room,
                speakers=tuple(
                    FeedSpeaker(name=s["name"], organisation=s.get("organisation"))
                    for s in session.speakers
                ),
                description=session.description,
                training_title=training.title,
                venue=training.venue,
                city=training.city,
                training_description=training.description,
                training_url=f"{base}/trainings/{training.id}/page",
            )
        )
    return result


async def _build(db: Database, base: str, name: str, trainings: list[TrainingRow]) -> bytes:
    ids = [t.id for t in trainings]
    async with db.session() as session:
        rows = (
            list(
                await session.exec(
                    select(SessionRow)
                    .where(col(SessionRow.training_id).in_(ids))
                    .order_by(col(SessionRow.starts_at), col(SessionRow.id))
                )
            )
            if ids
            else []
        )
    return build_feed(Feed(name=name, sessions=_feed_sessions(base, trainings, rows)))


async def training_feed(db: Database, base: str, training_id: str) -> bytes | None:
    async with db.session() as session:
        training = await session.get(TrainingRow, training_id)
    if training is None or training.status not in LISTED:
        return None
    return await _build(db, base, f"{training.title} ({training.city})", [training])


async def series_feed(db: Database, base: str, slug: str) -> bytes:
    async with db.session() as session:
        series = await session.get(SeriesRow, slug)
        trainings = list(
            await session.exec(
                select(TrainingRow)
                .where(TrainingRow.series == slug)
                .where(col(TrainingRow.status).in_(LISTED))
            )
        )
    title = series.title if series else slug
    return await _build(db, base, title, trainings)


async def personal_feed(db: Database, base: str, token_sha256: str) -> bytes | None:
    """The trainings a participant is confirmed for; None for an unknown or revoked token."""
    async with db.session() as session:
        owner = (
            await session.exec(
                select(FeedTokenRow).where(FeedTokenRow.token_sha256 == token_sha256)
            )
        ).first()
        if owner is None:
            return None
        trainings = list(
            await session.exec(
                select(TrainingRow)
                .join(EnrolmentRow, col(EnrolmentRow.training_id) == col(TrainingRow.id))
                .where(EnrolmentRow.participant_id == owner.participant_id)
                .where(EnrolmentRow.status == "confirmed")
                .where(col(TrainingRow.status).in_(LISTED))
            )
        )
    return await _build(db, base, "My Capitals trainings", trainings)
