"""Stepped release: what keeps a response from being told apart, in storage and in figures.

Responses wait as pending until RELEASE_STEP of them can go out together; every
transaction that writes several invitations takes their campaigns' locks first; and
every write of an answered flag rewrites all of the campaign's invitations, in random
order, so neither PostgreSQL's row stamps nor the heap order link a person to a response.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, delete, insert, or_, update
from sqlmodel import col, select

from services.evaluation import domain, queries
from services.evaluation.tables import (
    AnswerRow,
    CampaignRow,
    InvitationRow,
    PendingResponseRow,
    ResponseRow,
    metadata,
)
from shared.db import UnitOfWork
from shared.events import contracts as ev
from shared.structs import carried

INVITATION = metadata.tables["invitation"]


async def lock_campaigns(uow: UnitOfWork, campaign_ids: Sequence[str]) -> list[CampaignRow]:
    """Lock campaigns, in id order, before writing several of their invitations.

    Submitting rewrites all of a campaign's invitations (see blur_invitations);
    every transaction that writes more than one of them takes the campaign first,
    so two of them never wait for each other's rows (PostgreSQL; SQLite has one
    writer anyway).
    """
    if not campaign_ids:
        return []
    rows = await uow.session.exec(
        select(CampaignRow)
        .where(col(CampaignRow.id).in_(sorted(set(campaign_ids))))
        .order_by(col(CampaignRow.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def release_pending(uow: UnitOfWork, campaign: CampaignRow) -> int:
    """Release the campaign's pending responses as one batch, if there are enough of them.

    In one transaction, under the campaign's lock: the pending responses become
    responses and answers (inserted in random order), and every invitation whose
    person responded is marked answered. Reports, exports, trends and the
    who-answered list read only those, so they all move together, by at least
    RELEASE_STEP responses. Returns how many were released.
    """
    pending = list(
        await uow.session.exec(
            select(PendingResponseRow).where(PendingResponseRow.campaign_id == campaign.id)
        )
    )
    if not domain.releasable(len(pending)):
        return 0
    shuffle = random.SystemRandom().shuffle
    shuffle(pending)
    answers: list[dict[str, Any]] = []
    for row in pending:
        # A fresh key: nothing stored before the release carries over into the figures.
        response_id = str(uuid.uuid4())
        await uow.execute(
            insert(ResponseRow).values(
                id=response_id, campaign_id=campaign.id, bank_version=row.bank_version
            )
        )
        answers += [
            {**part, "response_id": response_id, "campaign_id": campaign.id} for part in row.parts
        ]
    if answers:
        shuffle(answers)
        await uow.execute(insert(AnswerRow), answers)
    await uow.execute(
        delete(PendingResponseRow).where(
            col(PendingResponseRow.id).in_([row.id for row in pending])
        )
    )
    await blur_invitations(uow, campaign.id, mark_answered=True)
    campaign.revision += 1
    uow.session.add(campaign)
    await emit_counts(uow, campaign, ev.ResponseSubmitted)
    return len(pending)


async def emit_counts(
    uow: UnitOfWork,
    campaign: CampaignRow,
    event: type[ev.ResponseSubmitted] | type[ev.CampaignClosed],
) -> None:
    """Tell the other services how many were invited and answered, at this revision."""
    invited, answered = await queries.counts(uow.session, campaign.id)
    uow.emit(carried(event, campaign, invited=invited, answered=answered))


async def blur_invitations(
    uow: UnitOfWork, campaign_id: str, *, mark_answered: bool = False
) -> None:
    """Rewrite every invitation of the campaign, in random order, in the submitting transaction.

    PostgreSQL stamps each row version with the id of the transaction that wrote it
    (xmin) and appends it to the heap (ctid). Without this, the answered invitation
    would be the one row sharing its xmin with the new response, and the heap order
    of answered invitations would follow the order of the responses: a DBA could
    join them. Rewritten together and shuffled, they all carry the same stamp and
    a meaningless order. (SQLite rewrites rows in place; it costs little there.)

    `mark_answered` (a release, or the close) marks answered, in the same pass,
    everyone who has responded.
    """
    ids = list(
        await uow.session.exec(
            select(InvitationRow.id).where(InvitationRow.campaign_id == campaign_id)
        )
    )
    random.SystemRandom().shuffle(ids)
    table = INVITATION
    answered = or_(table.c.answered, table.c.responded) if mark_answered else table.c.answered
    # On the Core table, so SQLAlchemy runs a plain executemany, not an ORM bulk update.
    await uow.execute(
        update(table).where(table.c.id == bindparam("invitation_id")).values(answered=answered),
        [{"invitation_id": invitation_id} for invitation_id in ids],
    )
