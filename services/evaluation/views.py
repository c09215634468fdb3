"""Response bodies and page views built from rows: shared by the API and the pages."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from services.evaluation import domain, queries
from services.evaluation.domain import Question
from services.evaluation.schemas import (
    BankOut,
    InvitationOut,
    ObjectiveOut,
    Questionnaire,
    QuestionOut,
    TrainingQuestions,
)
from services.evaluation.tables import BankRow, CampaignRow, InvitationRow, TrainingRow
from shared.db import Database
from shared.structs import carried


def bank_out(bank: domain.Bank, row: BankRow | None) -> BankOut:
    return BankOut(
        version=bank.version,
        questions=[QuestionOut.of(q) for q in bank.questions],
        follow_up=[QuestionOut.of(q) for q in bank.follow_up],
        created_at=row.created_at.isoformat() if row else None,
        created_by=row.created_by if row else None,
    )


def invitation_out(invitation: InvitationRow, stage: str) -> InvitationOut:
    invited_at = invitation.invited_at.isoformat()
    return carried(InvitationOut, invitation, stage=stage, invited_at=invited_at)


def training_questions(
    training: TrainingRow, campaign: CampaignRow | None, questionnaire: tuple[Question, ...]
) -> TrainingQuestions:
    """What the training's evaluation asks: fixed once open, a preview before."""
    objectives = queries.objectives_of(training)
    derived = not objectives
    if derived:
        objectives = [
            domain.Objective(q.objective_id or q.id, q.text)
            for q in questionnaire
            if q.kind == "self_assessment"
        ]
    return TrainingQuestions(
        training_id=training.id,
        fixed=campaign is not None,
        objectives=[ObjectiveOut(o.id, o.text) for o in objectives],
        objectives_derived=derived,
        extra_questions=[
            QuestionOut.of(q) for q in domain.decode_questions(training.extra_questions)
        ],
        questionnaire=[QuestionOut.of(q) for q in questionnaire],
    )


def questionnaire_out(
    invitation: InvitationRow, campaign: CampaignRow, training: TrainingRow, now: datetime
) -> Questionnaire:
    """The questionnaire behind an invitation link, as JSON."""
    open_ = domain.campaign_open(campaign.status, campaign.closes_at, now)
    return Questionnaire(
        training_id=training.id,
        training_title=training.title,
        city=training.city,
        stage=campaign.stage,
        questions=[QuestionOut.of(q) for q in domain.decode_questions(campaign.questions)],
        draft=invitation.draft,
        answered=invitation.responded,
        status="open" if open_ else "closed",
        closes_at=campaign.closes_at.isoformat(),
    )


async def training_questions_of(db: Database, training_id: str) -> TrainingQuestions:
    """What a training's evaluation asks; NotFound for a training evaluation does not know."""
    async with db.session() as session:
        training = await queries.training(session, training_id)
        campaign, questionnaire = await queries.questionnaire_of(session, training)
    return training_questions(training, campaign, questionnaire)


def series_titles(trainings: Iterable[TrainingRow]) -> dict[str, str]:
    """Each series' title as its newest edition announced it, the slug if none did."""
    titles: dict[str, str] = {}
    for training in sorted(trainings, key=lambda t: t.starts_on):
        if training.series_title or training.series not in titles:
            titles[training.series] = training.series_title or training.series
    return titles


def session_labels(sessions: Iterable[domain.Session], timezone: str) -> dict[str, str]:
    """Session id -> its day and time in the training's zone, an en dash and its title
    ("Tue 25 May 09:00 - Opening"), so that two sessions of one title are told apart."""
    zone = ZoneInfo(timezone)
    labels = {}
    for session in sessions:
        at = session.starts_at.astimezone(zone)
        labels[session.id] = f"{at:%a} {at.day} {at:%b %H:%M} \u2013 {session.title}"
    return labels
