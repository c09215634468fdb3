"""Database set-up for SQLite and PostgreSQL, and the unit of work every change goes through."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Tracer
from sqlalchemy import DateTime, event, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as SQLAlchemyAsyncSession
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util import await_
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.wakeups import woken

log = logging.getLogger(__name__)


class UTCDateTime(TypeDecorator[datetime]):
    """An offset-aware UTC time on both databases (SQLite keeps no offset of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC time is stored")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ask_for_wal(cursor: Any) -> None:
    """Switch a new database file to WAL. The switch needs the file to itself and SQLite
    answers "database is locked" at once, without its busy handler, when a connection
    opened at the same moment holds it: try again for up to 10 s. This runs inside
    SQLAlchemy's bridge to the event loop, so the pause is awaited, not slept."""
    for _ in range(200):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as exc:  # the driver's OperationalError, as the adapter raises it
            if "locked" not in str(exc):
                raise
            await_(asyncio.sleep(0.05))
    cursor.execute("PRAGMA journal_mode=WAL")


def _sqlite_engine(url: str, *, immediate: bool) -> AsyncEngine:
    engine = create_async_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        # Asking for WAL takes a lock that another connection's commit or checkpoint can
        # hold, and SQLite answers "database is locked" at once instead of waiting; the mode
        # is kept in the file, so only a database not yet in WAL needs asking.
        cursor.execute("PRAGMA journal_mode")
        if str(cursor.fetchone()[0]).lower() != "wal":
            _ask_for_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Deleted rows (an erased person, a draft replaced by its answers) are zeroed
        # on disk instead of lingering in free pages.
        cursor.execute("PRAGMA secure_delete=ON")
        # Checkpoints (the only fsync in WAL with synchronous=NORMAL) run in the
        # background (Database.checkpoints), not inside a request's commit.
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    # A deferred transaction that reads and then writes can fail at once with
    # "database is locked" in WAL mode; taking the write lock up front cannot.
    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine


class WriterQueue:
    """The writers of every process on one SQLite file, queued on an flock of a file beside
    it: a waiting process is woken the moment the writer before it commits. Without it, the
    processes of `capitals serve --workers N` wait on SQLite's busy handler, which sleeps in
    growing steps (up to 100 ms) and lets the process that just committed take the lock
    again and again. BEGIN IMMEDIATE still guarantees one writer at a time; this only orders
    the waiting."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    async def acquire(self) -> None:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fd = self._fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        # Another process writes: wait in a thread, not on the event loop.
        waiting = asyncio.get_running_loop().run_in_executor(None, fcntl.flock, fd, fcntl.LOCK_EX)
        try:
            await asyncio.shield(waiting)
        except asyncio.CancelledError:
            # The thread takes the lock anyway once it is free: give it straight back.
            def give_back(done: asyncio.Future[None]) -> None:
                if not done.cancelled() and done.exception() is None:
                    fcntl.flock(fd, fcntl.LOCK_UN)

            waiting.add_done_callback(give_back)
            raise

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class Database:
    """One service's database: write transactions, read sessions, and after-commit wake-ups."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = _sqlite_engine(url, immediate=True)
            self._read_engine = _sqlite_engine(url, immediate=False)
        else:
            self.engine = create_async_engine(url, pool_size=10, max_overflow=20)
            self._read_engine = self.engine
        # SQLite has one writer at a time: queue the writers of an event loop here instead
        # of letting them spin on busy_timeout. One lock per loop, as an asyncio.Lock works
        # only on the loop it waits on; writers of different loops (a test serving an app
        # from a second loop) are still serialised by SQLite itself (BEGIN IMMEDIATE).
        self._write_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        # ...and the writers of other processes on the same file (WriterQueue).
        file = make_url(url).database if self.is_sqlite else None
        self._writers = WriterQueue(f"{file}-writers.lock") if file and file != ":memory:" else None
        self._wakers: dict[str, Callable[[list[dict[str, Any]]], None]] = {}
        # Told after every commit of this process: work that only a change can make due
        # waits for one instead of polling.
        self._commit_watchers: list[Callable[[], None]] = []
        self.commits = 0
        # Set by the background checkpoints (Database.checkpoints) when they run.
        self._truncation_wanted: asyncio.Event | None = None
        self._checkpoint_loop: asyncio.AbstractEventLoop | None = None
        # Set when the service traces (shared.tracing): a unit of work inside a traced
        # request or event gets a span of its own.
        self.tracer: Tracer | None = None

    def on_commit(self, kind: str, waker: Callable[[list[dict[str, Any]]], None]) -> None:
        """After a commit that queued rows of `kind` (outbox, mail), hand them to `waker`."""
        self._wakers[kind] = waker

    def watch_commits(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` after every commit; returns the call that stops it."""
        self._commit_watchers.append(callback)
        return lambda: self._commit_watchers.remove(callback)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A read session; on SQLite it does not take the write lock."""
        async with AsyncSession(self._read_engine, expire_on_commit=False) as session:
            yield session

    def _write_lock(self) -> asyncio.Lock | None:
        if not self.is_sqlite:
            return None
        loop = asyncio.get_running_loop()
        lock = self._write_locks.get(loop)
        if lock is None:
            lock = self._write_locks[loop] = asyncio.Lock()
        return lock

    @asynccontextmanager
    async def unit(self, correlation_id: str | None = None) -> AsyncIterator[UnitOfWork]:
        """One write transaction; events and mail added to it are queued in it too.

        Traced, within a traced request or event only: background loops start no traces."""
        if self.tracer is None or not trace.get_current_span().get_span_context().is_valid:
            async with self._unit(correlation_id) as uow:
                yield uow
            return
        with self.tracer.start_as_current_span("unit of work"):
            async with self._unit(correlation_id) as uow:
                yield uow

    @asynccontextmanager
    async def _unit(self, correlation_id: str | None) -> AsyncIterator[UnitOfWork]:
        from shared.logs import current_correlation_id

        lock = self._write_lock()
        if lock is not None:
            await lock.acquire()
        try:
            if self._writers is not None:
                await self._writers.acquire()
            try:
                async with AsyncSession(self.engine, expire_on_commit=False) as session:
                    uow = UnitOfWork(session, correlation_id or current_correlation_id())
                    async with session.begin():
                        yield uow
                        await uow.flush_queued()
            finally:
                if self._writers is not None:
                    self._writers.release()
        finally:
            if lock is not None:
                lock.release()
        self.commits += 1
        for watcher in list(self._commit_watchers):
            watcher()
        for kind, rows in uow.committed.items():
            waker = self._wakers.get(kind)
            if waker is not None:
                waker(rows)
        if uow.forgets:
            await self._after_forgetting(uow)

    async def _after_forgetting(self, uow: UnitOfWork) -> None:
        # Files written beside the database (mail) are removed once the rows are gone;
        # then the WAL, which still holds the removed rows' old pages, is emptied.
        for step in uow.forgets:
            try:
                await step()
            except Exception:
                log.warning("clean-up after removing personal data failed", exc_info=True)
        loop, wanted = self._checkpoint_loop, self._truncation_wanted
        if loop is None or wanted is None:
            # No background checkpoints in this process (a command-line tool): do it now.
            try:
                await self.truncate_wal()
            except Exception:
                log.warning("truncating the WAL failed", exc_info=True)
            return
        # The commit may run on another event loop than the checkpoints (a second server
        # over the same app in tests); once that loop has stopped nobody is left to ask.
        with suppress(RuntimeError):
            loop.call_soon_threadsafe(wanted.set)

    async def checkpoints(self, every: float = 1.0) -> None:
        """Move the SQLite WAL into the database file now and then, off the commit path;
        empty it soon after a commit that removed personal data (forget_after_commit).

        TRUNCATE waits for readers and holds writers meanwhile, which is why it runs
        here, after the commit that asked for it has returned, and why a burst of such
        commits costs one or two truncations, not one each."""
        if not self.is_sqlite:
            return
        wanted = self._truncation_wanted = asyncio.Event()
        self._checkpoint_loop = asyncio.get_running_loop()
        checkpointed = self.commits
        while True:
            mode = "TRUNCATE" if await woken(wanted, every) else "PASSIVE"
            wanted.clear()
            if mode == "PASSIVE" and self.commits == checkpointed:
                # Nothing written here since the last one (idle): nothing to move. Another
                # process's writes are checkpointed by that process.
                continue
            checkpointed = self.commits
            try:
                async with self._read_engine.connect() as connection:
                    await connection.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})")
            except Exception:
                # A failed truncation is asked for again by the next such commit.
                log.warning("WAL checkpoint (%s) failed; retrying", mode, exc_info=True)

    async def truncate_wal(self) -> None:
        """Copy the SQLite WAL into the database and empty it, so that old page
        versions (a deleted name, a replaced draft) do not stay in the WAL file.

        The background checkpoints do this after writes that remove personal data
        (UnitOfWork.forget_after_commit)."""
        if not self.is_sqlite:
            return
        async with self._read_engine.connect() as connection:
            await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    async def ping(self) -> None:
        async with self._read_engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        if self._writers is not None:
            self._writers.close()
        await self.engine.dispose()
        if self._read_engine is not self.engine:
            await self._read_engine.dispose()


class UnitOfWork:
    """A transaction plus the events, mail and audit entries it makes, all committed together."""

    def __init__(self, session: AsyncSession, correlation_id: str) -> None:
        self.session = session
        self.correlation_id = correlation_id
        self.committed: dict[str, list[dict[str, Any]]] = {}
        self.forgets: list[Callable[[], Awaitable[None]]] = []
        self._rows: list[tuple[str, dict[str, Any]]] = []

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        """Run a Core statement (insert, update, delete) and return SQLAlchemy's result."""
        return await SQLAlchemyAsyncSession.execute(self.session, statement, parameters)

    def forget_after_commit(self, step: Callable[[], Awaitable[None]] | None = None) -> None:
        """This transaction removes or replaces personal data (an erased name, a draft
        answer): after commit run `step` (if given), then have the SQLite WAL emptied,
        which would otherwise keep the old page versions. Nothing happens on rollback."""

        async def nothing() -> None:
            return None

        self.forgets.append(step or nothing)

    def emit(self, payload: Any, *, person: str | None = None) -> None:
        """Queue an event (a `shared.events.Payload`) in the outbox of this transaction.

        `person` names the participant whose personal data the event carries, so that
        erasing them also deletes it from the stream (shared.outbox.forget_person).
        """
        from shared.events import encode, envelope_for
        from shared.outbox import CLAIM
        from shared.tracing import traceparent

        envelope = envelope_for(payload, self.correlation_id)
        # Real time, not the domain clock: the claims of other instances are read against it.
        now = datetime.now(UTC)
        self._rows.append(
            (
                "outbox",
                {
                    "event_id": envelope.event_id,
                    "subject": envelope.subject,
                    "body": encode(envelope),
                    "created_at": now,
                    # Claimed by this process from the start: its relay publishes the row
                    # right after commit, and no other instance's poll takes it meanwhile.
                    "claimed_until": now + CLAIM,
                    "person": person,
                    # Published with the event, so its trace goes on in the consumers.
                    "traceparent": traceparent(),
                },
            )
        )

    def send_mail(self, message: Any) -> None:
        """Queue a mail (a `shared.mail.Mail`) to be sent after commit."""
        self._rows.append(("mail", message.as_row()))

    def queue(self, kind: str, row: dict[str, Any]) -> None:
        """Queue a row of `kind` (outbox, mail, audit) to be written with this transaction."""
        self._rows.append((kind, row))

    async def flush_queued(self) -> None:
        from shared.tables import audit_log, mail_queue, outbox

        tables = {"outbox": outbox, "mail": mail_queue, "audit": audit_log}
        for kind in ("outbox", "mail", "audit"):
            rows = [row for row_kind, row in self._rows if row_kind == kind]
            if rows:
                await self.execute(tables[kind].insert(), rows)
                self.committed.setdefault(kind, []).extend(rows)
        self._rows.clear()
