"""The staff directory every service holds: applied from scheduling.staff.changed, and kept
in memory so that every request can check its token against it without a query."""

from __future__ import annotations

import logging
import time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession as SQLAlchemyAsyncSession

from shared.db import Database, UnitOfWork
from shared.events import Envelope
from shared.events import contracts as ev
from shared.settings import Settings
from shared.staff import Listing
from shared.structs import carried
from shared.tables import staff_directory
from shared.wakeups import Wakeup

log = logging.getLogger(__name__)

STAFF_CHANGED = "staff_directory"

# How often each instance rereads the table: a revocation applied by another instance
# (one instance of a service consumes each event) takes at most this long, plus the
# event's trip over the bus, to end a session there. The instance that applied it, and
# scheduling's own, reread at once (Runtime wakes them on that commit).
REFRESH_SECONDS = 30.0


def _countries(text: str) -> frozenset[str]:
    return frozenset(code for code in text.split(",") if code)


class StaffDirectory:
    """The directory as this process last read it (empty until the first read)."""

    def __init__(self) -> None:
        self.listings: dict[str, Listing] = {}
        self.read_seconds = 0.0
        self._changed: Wakeup | None = None

    def changed(self, _rows: object = None) -> None:
        """This process committed a change to the table: reread it now."""
        if self._changed is not None:
            self._changed.set()

    def get(self, email: str) -> Listing | None:
        return self.listings.get(email.lower())

    async def refresh(self, db: Database) -> None:
        started = time.perf_counter()
        async with db.session() as session:
            # A Core select: SQLAlchemy's execute (sqlmodel's own is for models).
            rows = (await SQLAlchemyAsyncSession.execute(session, select(staff_directory))).all()
        self.listings = {
            row.email: carried(
                Listing, row, countries=_countries(row.countries), revoked=bool(row.revoked)
            )
            for row in rows
        }
        self.read_seconds = time.perf_counter() - started

    async def run(self, db: Database, every: float = REFRESH_SECONDS) -> None:
        self._changed = Wakeup()
        db.on_commit(STAFF_CHANGED, self.changed)
        while True:
            await self._changed.wait(every)
            try:
                await self.refresh(db)
            except Exception:
                log.warning("staff directory not refreshed", exc_info=True)


async def record(uow: UnitOfWork, data: ev.StaffChanged) -> bool:
    """Keep `data` unless the directory already holds this revision or a later one."""
    email = data.email.lower()
    held = (
        await uow.execute(
            select(staff_directory.c.revision).where(staff_directory.c.email == email)
        )
    ).scalar_one_or_none()
    if held is not None and held >= data.revision:
        return False
    values = {
        "name": data.name,
        "role": data.role,
        "countries": ",".join(sorted(code.upper() for code in data.countries)),
        "revoked": data.revoked,
        "signed_out_at": data.signed_out_at,
        "revision": data.revision,
    }
    # Once committed, this process rereads the directory at once (StaffDirectory.run).
    uow.committed.setdefault(STAFF_CHANGED, []).append({"email": email})
    if held is None:
        await uow.execute(staff_directory.insert().values(email=email, **values))
    else:
        await uow.execute(
            staff_directory.update().where(staff_directory.c.email == email).values(**values)
        )
    return True


async def staff_changed(
    uow: UnitOfWork, settings: Settings, data: ev.StaffChanged, envelope: Envelope
) -> None:
    """The handler registration and evaluation run (scheduling writes its own directly)."""
    await record(uow, data)
