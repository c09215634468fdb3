"""The secretariat's view of mail that failed its last attempt, the same on every service."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar.params import QueryParameter
from sqlalchemy import select

from shared.params import DB
from shared.routes import secretariat_get
from shared.structs import carried
from shared.tables import mail_queue


class DeadMail(msgspec.Struct):
    id: int
    recipient: str
    subject: str
    attempts: int
    last_error: str | None
    dead_at: datetime


class DeadMailList(msgspec.Struct):
    items: list[DeadMail]


Limit = Annotated[int, QueryParameter(ge=1, le=1000)]


@secretariat_get("/mail/dead", operation_id="listDeadMail", tags=["mail"])
async def list_dead_mail(db: DB, limit: Limit = 100) -> DeadMailList:
    """Mail this service gave up on (secretariat), newest first, with the last error."""
    async with db.session() as session:
        rows = await session.exec(  # type: ignore[call-overload]
            select(mail_queue)
            .where(mail_queue.c.dead_at.is_not(None))
            .order_by(mail_queue.c.dead_at.desc(), mail_queue.c.id.desc())
            .limit(limit)
        )
        return DeadMailList(items=[carried(DeadMail, row) for row in rows])
