"""Write use cases of evaluation, each `(uow, settings, who, input)` in one unit of work.

The bank, a training's own questions, and answering through an invitation link.
Campaigns, invitations, reminders and erasure are in invitations.py, the stepped
release that answering relies on in release.py, the time-based work in jobs.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, update
from sqlmodel import col

from services.evaluation import audits, domain, queries
from services.evaluation.domain import EVALUATION, Bank, Question
from services.evaluation.release import (
    blur_invitations,
    lock_campaigns,
    release_pending,
)
from services.evaluation.schemas import BankIn
from services.evaluation.tables import (
    BankRow,
    CampaignRow,
    InvitationRow,
    PendingResponseRow,
    TrainingRow,
)
from shared.audit import audited
from shared.clock import clock
from shared.db import UnitOfWork
from shared.errors import Conflict, Forbidden, Invalid
from shared.settings import Settings
from shared.staff import Staff

# --- inputs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SetObjectives:
    training_id: str
    objectives: Sequence[str]


@dataclass(frozen=True)
class SetExtraQuestions:
    training_id: str
    questions: Sequence[Question]


@dataclass(frozen=True)
class Answer:
    """Answers sent through an invitation link."""

    token: str
    answers: dict[str, Any]


# --- the bank --------------------------------------------------------------------------


@audited("questions.changed", audits.bank)
async def edit_bank(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: BankIn
) -> tuple[Bank, BankRow | None]:
    """A new version of the bank; campaigns already opened keep the version they used."""
    if who is None:
        raise Forbidden("only the secretariat edits the question bank")
    questions = [q.to_question() for q in input.questions]
    follow_up = [q.to_question() for q in input.follow_up]
    history = await queries.banks(uow.session)
    taken: set[str] = set()
    kinds = domain.kinds_of(history)
    domain.check_questions(
        questions, "questions", kinds=domain.BANK_KINDS, history=kinds, taken=taken
    )
    domain.check_questions(
        follow_up, "follow_up", kinds=domain.BANK_KINDS, history=kinds, taken=taken
    )
    latest = history[-1]
    proposed = Bank(
        version=latest.version + 1, questions=tuple(questions), follow_up=tuple(follow_up)
    )
    if proposed.same_questions(latest):
        return await queries.current_bank(uow.session)
    row = BankRow(
        version=proposed.version,
        questions=domain.encode_questions(proposed.questions),
        follow_up=domain.encode_questions(proposed.follow_up),
        created_at=clock.now(),
        created_by=who.sub,
    )
    uow.session.add(row)
    # Two editors at once both propose version N+1: the primary key lets one win.
    await uow.session.flush()
    return proposed, row


# --- trainings' own questions -------------------------------------------------------


async def _not_opened(uow: UnitOfWork, training_id: str) -> TrainingRow:
    training = await queries.training(uow.session, training_id)
    if await queries.campaign_of(uow.session, training.id, EVALUATION) is not None:
        raise Conflict("the evaluation of this training has opened; its questions are fixed")
    return training


@audited("training.objectives_set", audits.objectives)
async def set_objectives(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: SetObjectives
) -> None:
    training = await _not_opened(uow, input.training_id)
    texts = [text.strip() for text in input.objectives]
    for index, text in enumerate(texts):
        if not text:
            raise Invalid("an objective needs text", field=f"objectives[{index}]")
    training.objectives = [{"id": f"o{i}", "text": t} for i, t in enumerate(texts, start=1)]
    uow.session.add(training)


@audited("training.questions_set", audits.extra_questions)
async def set_extra_questions(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: SetExtraQuestions
) -> None:
    training = await _not_opened(uow, input.training_id)
    domain.check_questions(
        input.questions, "questions", kinds=domain.EXTRA_KINDS, history={}, taken=set()
    )
    training.extra_questions = domain.encode_questions(input.questions)
    uow.session.add(training)


# --- answering ---------------------------------------------------------------------------


def _still_open(invitation: InvitationRow, campaign: CampaignRow, now: datetime) -> None:
    if invitation.responded:
        raise Conflict("this evaluation has already been answered")
    if not domain.campaign_open(campaign.status, campaign.closes_at, now):
        raise Conflict("this evaluation is closed")


async def save_draft(uow: UnitOfWork, settings: Settings, who: Staff | None, input: Answer) -> None:
    """A partial answer to finish later, until the campaign closes; it stays personal."""
    invitation, campaign, _ = await queries.invitation_by_token(uow.session, input.token)
    _still_open(invitation, campaign, clock.now())
    questions = domain.decode_questions(campaign.questions)
    clean = domain.clean_answers(questions, input.answers, complete=False)
    await uow.execute(
        update(InvitationRow)
        .where(col(InvitationRow.id) == invitation.id)
        .where(col(InvitationRow.responded).is_(False))
        .values(draft=clean)
    )
    uow.forget_after_commit()


async def submit(uow: UnitOfWork, settings: Settings, who: Staff | None, input: Answer) -> None:
    """Take one anonymous response for the invitation; a second one is a Conflict.

    The response is held as pending; it reaches the figures, and its invitation
    the who-answered list, only with a released batch (release.release_pending).
    """
    now = clock.now()
    invitation, campaign, _ = await queries.invitation_by_token(uow.session, input.token)
    _still_open(invitation, campaign, now)
    questions = domain.decode_questions(campaign.questions)
    clean = domain.clean_answers(questions, input.answers, complete=True)
    (campaign,) = await lock_campaigns(uow, [campaign.id])
    if not domain.campaign_open(campaign.status, campaign.closes_at, now):
        raise Conflict("this evaluation is closed")
    # The conditional update makes a second or concurrent submission lose the race.
    claimed = await uow.execute(
        update(InvitationRow)
        .where(col(InvitationRow.id) == invitation.id)
        .where(col(InvitationRow.responded).is_(False))
        .values(responded=True, draft=None)
    )
    if not claimed.rowcount:
        raise Conflict("this evaluation has already been answered")
    parts = domain.answer_parts(questions, clean)
    await uow.execute(
        insert(PendingResponseRow).values(
            id=str(uuid.uuid4()),
            campaign_id=campaign.id,
            bank_version=campaign.bank_version,
            parts=[
                {"question_id": p.question_id, "part": p.part, "value": p.value, "text": p.text}
                for p in parts
            ],
        )
    )
    if not await release_pending(uow, campaign):
        await blur_invitations(uow, campaign.id)
    uow.forget_after_commit()
