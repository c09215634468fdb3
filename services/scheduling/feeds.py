"""The three calendar feeds: which sessions each holds, a cache of built feeds, and the
conditional GET (ETag, If-None-Match, gzip) that answers with them.

A feed is rebuilt only when its data changed. Each feed has a fingerprint read
in one small query: the feed revision of each training in it (which rises with
every change to the training or its sessions), the series' revision for its
name, and for a personal feed each training's SEQUENCE offset. These only ever
rise, so an equal fingerprint means equal data, and a repeat request costs that
one query instead of a build.
"""

from __future__ import annotations

import asyncio
import gzip
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from litestar import HttpMethod, Request, Response
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter
from sqlmodel import and_, col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.scheduling import domain, queries
from services.scheduling.tables import (
    CalendarEntryRow,
    FeedTokenRow,
    SeriesRow,
    SessionRow,
    TrainingRow,
)
from shared.calendar import Feed, FeedSession, build_feed, calendar_name, feed_etag, session_of
from shared.db import Database
from shared.problems import problems
from shared.rows import row_or_404

PERSONAL_NAME = "My Capitals trainings"
# Feeds this large are built in a worker thread so the event loop keeps serving.
_THREAD_FROM = 200


@dataclass(frozen=True)
class Built:
    """A feed's bytes, also gzipped: a series feed shrinks about fifteen-fold."""

    body: bytes
    etag: str
    gzipped: bytes

    @property
    def gzip_etag(self) -> str:
        # Another representation needs another strong validator (RFC 9110 8.8.3).
        return self.etag[:-1] + '-gzip"'


@dataclass(frozen=True)
class Source:
    """What a feed is built from; `listing` maps training id to (listed, offset, changed_at)."""

    name: str
    trainings: Sequence[TrainingRow]
    sessions: Sequence[SessionRow]
    listing: dict[str, tuple[bool, int, datetime]] | None = None


Fingerprint = tuple[Any, ...]


class FeedCache:
    """Feeds built by this process, each with the fingerprint of the data it came from."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._built: OrderedDict[tuple[str, ...], tuple[Fingerprint, Built]] = OrderedDict()
        self._building: dict[tuple[Any, ...], asyncio.Future[Built]] = {}
        self.builds = 0

    async def get(
        self,
        key: tuple[str, ...],
        fingerprint: Fingerprint,
        load: Callable[[], Awaitable[Source]],
        base: str,
    ) -> Built:
        held = self._built.get(key)
        if held is not None and held[0] == fingerprint:
            self._built.move_to_end(key)
            return held[1]
        # Concurrent requests for the same data share one build.
        flight = (key, fingerprint)
        pending = self._building.get(flight)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Built] = asyncio.get_running_loop().create_future()
        self._building[flight] = future
        try:
            built = await _build(await load(), base)
            self.builds += 1
        except BaseException as exc:
            future.set_exception(exc)
            # Mark the exception retrieved: waiters re-raise it, and there may be none.
            future.exception()
            raise
        finally:
            del self._building[flight]
        future.set_result(built)
        self._built[key] = (fingerprint, built)
        self._built.move_to_end(key)
        while len(self._built) > self.size:
            self._built.popitem(last=False)
        return built


async def _build(source: Source, base: str) -> Built:
    feed = Feed(name=source.name, sessions=feed_sessions(base, source))
    if len(feed.sessions) >= _THREAD_FROM:
        return await asyncio.to_thread(_serialise, feed)
    return _serialise(feed)


def _serialise(feed: Feed) -> Built:
    body = build_feed(feed)
    # mtime=0 keeps the gzipped bytes as deterministic as the feed itself.
    return Built(body, feed_etag(body), gzip.compress(body, compresslevel=6, mtime=0))


def feed_sessions(base: str, source: Source) -> list[FeedSession]:
    by_id = {t.id: t for t in source.trainings}
    result = []
    for session in source.sessions:
        training = by_id[session.training_id]
        status = "cancelled" if training.status == "cancelled" else session.status
        sequence = session.sequence
        revised = max(session.revised_at, training.feed_revised_at)
        if source.listing is not None:
            listed, offset, changed_at = source.listing[training.id]
            status = domain.personal_status(status, listed)
            sequence += offset
            if offset:
                revised = max(revised, changed_at)
        result.append(
            session_of(
                session,
                training,
                status=status,
                sequence=sequence,
                revised_at=revised,
                training_url=f"{base}/trainings/{training.id}/page",
            )
        )
    return result


async def _sessions(session: AsyncSession, trainings: Sequence[TrainingRow]) -> list[SessionRow]:
    ids = [t.id for t in trainings]
    if not ids:
        return []
    rows = await session.exec(
        select(SessionRow)
        .where(col(SessionRow.training_id).in_(ids))
        .order_by(col(SessionRow.starts_at), col(SessionRow.id))
    )
    return list(rows)


async def training_feed(
    db: Database, cache: FeedCache, base: str, training_id: str
) -> Built | None:
    async with db.session() as session:
        current = (
            await session.exec(
                select(TrainingRow.feed_revision, TrainingRow.status).where(
                    TrainingRow.id == training_id
                )
            )
        ).first()
    if current is None or current[1] not in domain.LISTED:
        return None

    async def load() -> Source:
        async with db.session() as session:
            missing = f"no published training {training_id}"
            training = await row_or_404(session, TrainingRow, training_id, missing)
            return Source(
                calendar_name(training.title, training.city),
                [training],
                await _sessions(session, [training]),
            )

    return await cache.get(("training", training_id), tuple(current), load, base)


async def series_feed(db: Database, cache: FeedCache, base: str, slug: str) -> Built | None:
    listed = and_(col(TrainingRow.series) == slug, col(TrainingRow.status).in_(domain.LISTED))
    async with db.session() as session:
        current = (
            await session.exec(
                select(
                    SeriesRow.revision,
                    func.count(col(TrainingRow.id)),
                    func.coalesce(func.sum(TrainingRow.feed_revision), 0),
                )
                .select_from(SeriesRow)
                .outerjoin(TrainingRow, listed)
                .where(SeriesRow.slug == slug)
                .group_by(col(SeriesRow.revision))
            )
        ).first()
    if current is None:
        return None

    async def load() -> Source:
        async with db.session() as session:
            series = await queries.series(session, slug)
            trainings = list(await session.exec(select(TrainingRow).where(listed)))
            return Source(series.title, trainings, await _sessions(session, trainings))

    return await cache.get(("series", slug), tuple(current), load, base)


async def personal_feed(
    db: Database, cache: FeedCache, base: str, token_sha256: str
) -> Built | None:
    """A participant's trainings; None for an unknown, revoked or erased token."""
    async with db.session() as session:
        rows = list(
            await session.exec(
                select(
                    FeedTokenRow.participant_id,
                    CalendarEntryRow.training_id,
                    CalendarEntryRow.offset,
                    TrainingRow.feed_revision,
                )
                .select_from(FeedTokenRow)
                .outerjoin(
                    CalendarEntryRow,
                    col(CalendarEntryRow.participant_id) == col(FeedTokenRow.participant_id),
                )
                .outerjoin(TrainingRow, col(TrainingRow.id) == col(CalendarEntryRow.training_id))
                .where(FeedTokenRow.token_sha256 == token_sha256)
            )
        )
    if not rows:
        return None
    participant = rows[0][0]
    fingerprint = tuple(sorted(tuple(row[1:]) for row in rows if row[1] is not None))

    async def load() -> Source:
        async with db.session() as session:
            entries = list(
                await session.exec(
                    select(CalendarEntryRow).where(CalendarEntryRow.participant_id == participant)
                )
            )
            ids = [e.training_id for e in entries]
            trainings = list(
                await session.exec(
                    select(TrainingRow)
                    .where(col(TrainingRow.id).in_(ids))
                    .where(col(TrainingRow.status).in_(domain.LISTED))
                )
            )
            sessions = await _sessions(session, trainings)
        listing = {e.training_id: (e.listed, e.offset, e.changed_at) for e in entries}
        return Source(PERSONAL_NAME, trainings, sessions, listing)

    # Keyed by participant, not token: a rotated token serves the same feed.
    return await cache.get(("personal", participant), fingerprint, load, base)


# --- answering a feed request -----------------------------------------------------

# Litestar adds "; charset=utf-8" to text/ media types.
CALENDAR = "text/calendar"
FEED_METHODS = [HttpMethod.GET, HttpMethod.HEAD]
# Declared, so the description shows how a client gets its 304.
IfNoneMatch = Annotated[str | None, HeaderParameter(name="If-None-Match", required=False)]
FEED_RESPONSES = {
    **problems(404),
    304: ResponseSpec(
        data_container=None, description="Not modified: If-None-Match holds the current ETag."
    ),
}


def feed_cache(state: State) -> FeedCache:
    """The app's one cache of built feeds."""
    cache: FeedCache | None = state.get("feed_cache")
    if cache is None:
        cache = state["feed_cache"] = FeedCache()
    return cache


def _matches(if_none_match: str, built: Built) -> bool:
    """RFC 9110 13.1.2: weak comparison over a list of entity tags, or '*'."""
    current = (built.etag, built.gzip_etag)
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") in current:
            return True
    return False


def _accepts_gzip(accept_encoding: str) -> bool:
    for coding in accept_encoding.split(","):
        name, _, params = coding.strip().partition(";")
        if name.strip().lower() == "gzip":
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def calendar_response(
    request: Request[Any, Any, Any],
    built: Built,
    cache_control: str,
    if_none_match: str | None,
) -> Response[bytes]:
    gzipped = _accepts_gzip(request.headers.get("accept-encoding", ""))
    headers = {
        "ETag": built.gzip_etag if gzipped else built.etag,
        "Cache-Control": cache_control,
        "Vary": "Accept-Encoding",
    }
    if _matches(if_none_match or "", built):
        return Response(b"", status_code=304, headers=headers)
    if gzipped:
        headers["Content-Encoding"] = "gzip"
        return Response(built.gzipped, media_type=CALENDAR, headers=headers)
    return Response(built.body, media_type=CALENDAR, headers=headers)


def feed_operation(name: str) -> Any:
    """Feeds answer HEAD too (some calendar clients probe with it); OpenAPI wants two ids."""

    def operation_id(_handler: Any, method: Any, _path: Any) -> str:
        return name if str(method).upper().endswith("GET") else f"{name}Head"

    return operation_id
