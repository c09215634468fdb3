"""The bus tests' common parts: a handler that records, a consumer of scheduling's
stream, counting rows, asking about a stream and reading it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nats
from nats.js.api import RawStreamMsg, StreamInfo
from sqlalchemy import func, select

from shared.broker import Broker
from shared.bus import Consumer, Handler
from shared.db import Database, UnitOfWork
from shared.events import Envelope
from shared.events import contracts as ev
from shared.logs import correlation_id
from shared.settings import load_settings


class Recorder:
    """A handler that records what it applied, and fails on the events it is told to."""

    def __init__(self, poisoned: set[str] | None = None) -> None:
        self.applied: list[str] = []
        self.correlation_ids: list[str | None] = []
        self.poisoned = poisoned or set()

    async def __call__(self, uow: UnitOfWork, settings: Any, data: Any, envelope: Envelope) -> None:
        if data.id in self.poisoned:
            raise RuntimeError(f"cannot apply {data.id}")
        self.applied.append(data.id)
        self.correlation_ids.append(correlation_id.get())


def completed_consumer(
    db: Database, broker: Broker, tmp_path: Path, handler: Handler, **options: Any
) -> Consumer:
    """A consumer of scheduling's stream that hands each TrainingCompleted to `handler`."""
    return Consumer(
        db,
        broker,
        name="test-from-scheduling",
        stream="SCHEDULING",
        settings=load_settings({"CAPITALS_DATA_DIR": str(tmp_path)}),
        handlers={ev.TrainingCompleted.subject: handler},
        **options,
    )


async def count(db: Database, table: Any, *where: Any) -> int:
    """The rows of `table` that meet every condition in `where`."""
    async with db.session() as session:
        query = select(func.count()).select_from(table).where(*where)
        return int((await session.exec(query)).one()[0])  # type: ignore[call-overload]


async def stream_info(url: str, stream: str) -> StreamInfo:
    """What the broker says of `stream` now; `url` may list several servers, comma-separated."""
    connection = await nats.connect(url.split(","))
    try:
        return await connection.jetstream().stream_info(stream)
    finally:
        await connection.close()


async def stored_messages(url: str, stream: str, **connect: Any) -> list[RawStreamMsg]:
    """Every message `stream` still holds, in stream order; deleted ones (an erased
    person's events) are passed over. `url` may list several servers, comma-separated."""
    connection = await nats.connect(url.split(","), **connect)
    try:
        js = connection.jetstream(timeout=5)
        state = (await js.stream_info(stream)).state
        found = []
        for sequence in range(state.first_seq, state.last_seq + 1):
            try:
                found.append(await js.get_msg(stream, sequence))
            except nats.js.errors.NotFoundError:
                continue
        return found
    finally:
        await connection.close()
