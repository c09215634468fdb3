"""`capitals sign-in-link`: enrol a staff member through scheduling's database and print a
single-use sign-in link (the staff event leaves through the outbox)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from services.scheduling import sign_in as accounts
from shared.commands import execute
from shared.db import Database
from shared.migrations import upgrade
from shared.settings import Settings


def secret_missing(env: dict[str, str] | None = None) -> Path | None:
    """The data directory when it holds no secret and none is set: a link signed with a
    fresh one would not open on services that run with the old."""
    env = dict(os.environ if env is None else env)
    if env.get("CAPITALS_SECRET"):
        return None
    data_dir = Path(env.get("CAPITALS_DATA_DIR", "./capitals-data")).expanduser().absolute()
    return None if (data_dir / "secret").exists() else data_dir


def issue(settings: Settings, enrolment: accounts.Enrolment) -> str:
    """Create or update the staff member (refusing a revoked one) and return a link."""
    url = settings.database_url("scheduling")
    upgrade("scheduling", url)

    async def run() -> str:
        db = Database(url)
        try:
            return await execute(db, accounts.enrol, settings, None, enrolment)
        finally:
            await db.dispose()

    return asyncio.run(run())
