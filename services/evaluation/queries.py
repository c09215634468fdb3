"""Reads: the bank, trainings, campaigns, invitations and counts, as rows or domain values."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import case, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.evaluation import domain
from services.evaluation.domain import EVALUATION, Bank, Question
from services.evaluation.questions import BANK_V1
from services.evaluation.tables import (
    BankRow,
    CampaignRow,
    InvitationRow,
    SessionRow,
    TrainingRow,
)
from shared import tokens
from shared.errors import NotFound
from shared.staff import Staff

# --- the bank --------------------------------------------------------------------------


def bank_of(row: BankRow) -> Bank:
    return Bank(
        version=row.version,
        questions=domain.decode_questions(row.questions),
        follow_up=domain.decode_questions(row.follow_up),
    )


async def banks(session: AsyncSession) -> list[Bank]:
    """Every version of the bank, oldest first; version 1 is built in."""
    rows = await session.exec(select(BankRow).order_by(col(BankRow.version)))
    return [BANK_V1, *(bank_of(row) for row in rows)]


async def bank_rows(session: AsyncSession) -> list[BankRow]:
    """The versions made after the built-in version 1, newest first: who made each and when."""
    return list(await session.exec(select(BankRow).order_by(col(BankRow.version).desc())))


async def current_bank(session: AsyncSession) -> tuple[Bank, BankRow | None]:
    row = (
        await session.exec(select(BankRow).order_by(col(BankRow.version).desc()).limit(1))
    ).first()
    return (bank_of(row), row) if row is not None else (BANK_V1, None)


async def bank_version(session: AsyncSession, version: int | None) -> tuple[Bank, BankRow | None]:
    """The current bank, or an earlier `version` of it; NotFound for one never made."""
    if version is None:
        return await current_bank(session)
    if version == 1:
        return BANK_V1, None
    row = await session.get(BankRow, version)
    if row is None:
        raise NotFound(f"no version {version} of the question bank")
    return bank_of(row), row


# --- trainings and campaigns -----------------------------------------------------------


async def training(session: AsyncSession, training_id: str) -> TrainingRow:
    row = await session.get(TrainingRow, training_id)
    if row is None:
        raise NotFound(f"no training {training_id}")
    return row


async def host_of_training(session: AsyncSession, training_id: str, _: Staff) -> str | None:
    """For the guard: the host country of a training evaluation knows, else None."""
    row = await session.get(TrainingRow, training_id)
    return None if row is None else row.host_country


async def campaign_of(session: AsyncSession, training_id: str, stage: str) -> CampaignRow | None:
    return (
        await session.exec(
            select(CampaignRow)
            .where(CampaignRow.training_id == training_id)
            .where(CampaignRow.stage == stage)
        )
    ).first()


async def campaigns_of(session: AsyncSession, training_id: str) -> list[CampaignRow]:
    return list(
        await session.exec(select(CampaignRow).where(CampaignRow.training_id == training_id))
    )


async def sessions_of(session: AsyncSession, training_id: str) -> list[domain.Session]:
    rows = await session.exec(select(SessionRow).where(SessionRow.training_id == training_id))
    return [domain.Session(r.id, r.title, r.kind, r.starts_at, r.status) for r in rows]


def objectives_of(training: TrainingRow) -> list[domain.Objective]:
    return [domain.Objective(o["id"], o["text"]) for o in training.objectives]


async def planned_questionnaire(
    session: AsyncSession, training: TrainingRow, bank: Bank
) -> tuple[Question, ...]:
    return domain.evaluation_questionnaire(
        bank,
        await sessions_of(session, training.id),
        objectives_of(training),
        domain.decode_questions(training.extra_questions),
    )


async def questionnaire_of(
    session: AsyncSession, training: TrainingRow
) -> tuple[CampaignRow | None, tuple[Question, ...]]:
    """The evaluation's questions: fixed once its campaign opened, the plan before."""
    campaign = await campaign_of(session, training.id, EVALUATION)
    if campaign is not None:
        return campaign, domain.decode_questions(campaign.questions)
    bank, _ = await current_bank(session)
    return None, await planned_questionnaire(session, training, bank)


# --- invitations -------------------------------------------------------------------------


async def invitation_by_token(
    session: AsyncSession, token: str
) -> tuple[InvitationRow, CampaignRow, TrainingRow]:
    """The invitation behind a link, with its campaign and training; NotFound otherwise."""
    found = (
        await session.exec(
            select(InvitationRow, CampaignRow, TrainingRow)
            .join(CampaignRow, col(CampaignRow.id) == col(InvitationRow.campaign_id))
            .join(TrainingRow, col(TrainingRow.id) == col(CampaignRow.training_id))
            .where(InvitationRow.token_sha256 == tokens.digest(token))
        )
    ).first()
    if found is None:
        raise NotFound("no such evaluation; the link may be incomplete")
    invitation, campaign, training = found
    return invitation, campaign, training


async def invitations_of(
    session: AsyncSession, training_id: str
) -> list[tuple[InvitationRow, str]]:
    """Every invitation of the training's campaigns, with its stage; NotFound for no training."""
    await training(session, training_id)
    rows = await session.exec(
        select(InvitationRow, CampaignRow.stage)
        .join(CampaignRow, col(CampaignRow.id) == col(InvitationRow.campaign_id))
        .where(CampaignRow.training_id == training_id)
        .order_by(col(CampaignRow.stage), col(InvitationRow.name))
    )
    return list(rows)


async def unanswered(session: AsyncSession, campaign_ids: Sequence[str]) -> list[InvitationRow]:
    """Who has not answered these campaigns and can still be mailed (not erased)."""
    if not campaign_ids:
        return []
    return list(
        await session.exec(
            select(InvitationRow)
            .where(col(InvitationRow.campaign_id).in_(campaign_ids))
            .where(col(InvitationRow.answered).is_(False))
            .where(col(InvitationRow.email).is_not(None))
            .order_by(col(InvitationRow.name))
        )
    )


async def counts(session: AsyncSession, campaign_id: str) -> tuple[int, int]:
    """How many were invited and how many answered."""
    answered = func.coalesce(func.sum(case((col(InvitationRow.answered), 1), else_=0)), 0)
    row = (
        await session.exec(
            select(func.count(), answered)
            .select_from(InvitationRow)
            .where(InvitationRow.campaign_id == campaign_id)
        )
    ).one()
    return int(row[0]), int(row[1])
