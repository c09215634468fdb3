"""Campaigns, invitations and responses; each command runs in one unit of work."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import case, func, update
from sqlmodel import col, select

from services.evaluation.questions import CORE_V1
from services.evaluation.tables import (
    AttendeeRow,
    CampaignRow,
    InvitationRow,
    ResponseRow,
    TrainingRow,
)
from shared import tokens
from shared.clock import clock
from shared.db import UnitOfWork
from shared.events import contracts as ev
from shared.mail import Mail
from shared.problems import Problem
from shared.settings import Settings


def invitation_url(settings: Settings, invitation_id: str) -> str:
    token = tokens.derive(settings.secret, "invitation", invitation_id)
    return f"{settings.public_url('evaluation')}/evaluations/{token}"


async def open_campaign(uow: UnitOfWork, settings: Settings, training: TrainingRow) -> CampaignRow:
    campaign = (
        await uow.session.exec(select(CampaignRow).where(CampaignRow.training_id == training.id))
    ).first()
    if campaign is None:
        now = clock.now()
        campaign = CampaignRow(
            id=str(uuid.uuid4()),
            training_id=training.id,
            opened_at=now,
            closes_at=now + settings.evaluation_open_for,
        )
        uow.session.add(campaign)
        await uow.session.flush()
    attendees = await uow.session.exec(
        select(AttendeeRow)
        .where(AttendeeRow.training_id == training.id)
        .where(col(AttendeeRow.checked_in).is_(True))
    )
    for attendee in attendees:
        await invite(uow, settings, campaign, training, attendee)
    return campaign


async def invite(
    uow: UnitOfWork,
    settings: Settings,
    campaign: CampaignRow,
    training: TrainingRow,
    attendee: AttendeeRow,
) -> None:
    exists = (
        await uow.session.exec(
            select(InvitationRow.id)
            .where(InvitationRow.campaign_id == campaign.id)
            .where(InvitationRow.registration_id == attendee.registration_id)
        )
    ).first()
    if exists is not None or campaign.status != "open":
        return
    invitation_id = str(uuid.uuid4())
    token = tokens.derive(settings.secret, "invitation", invitation_id)
    uow.session.add(
        InvitationRow(
            id=invitation_id,
            campaign_id=campaign.id,
            registration_id=attendee.registration_id,
            participant_id=attendee.participant_id,
            name=attendee.name,
            email=attendee.email,
            token_sha256=tokens.digest(token),
            created_at=clock.now(),
        )
    )
    uow.send_mail(
        Mail(
            to=attendee.email,
            subject=f"How was {training.title}? Your evaluation",
            text=(
                f"Dear {attendee.name},\n\nThank you for attending {training.title} in "
                f"{training.city}. Please tell us what worked and what did not; your answers "
                f"are anonymous.\n\n{invitation_url(settings, invitation_id)}\n\n"
                f"The evaluation is open until {campaign.closes_at:%d %B %Y}.\n"
            ),
        )
    )


async def invitation_by_token(uow: UnitOfWork, token: str) -> tuple[InvitationRow, CampaignRow]:
    invitation = (
        await uow.session.exec(
            select(InvitationRow).where(InvitationRow.token_sha256 == tokens.digest(token))
        )
    ).first()
    if invitation is None:
        raise Problem(404, "no such evaluation")
    campaign = await uow.session.get(CampaignRow, invitation.campaign_id)
    assert campaign is not None
    return invitation, campaign


def questionnaire() -> list[dict[str, Any]]:
    return CORE_V1


def validate(answers: dict[str, Any]) -> dict[str, Any]:
    """Check every answer against its question; name the question in any error."""
    known = {q["id"]: q for q in questionnaire()}
    for question_id in answers:
        if question_id not in known:
            raise Problem(422, f"unknown question {question_id!r}", field=f"answers.{question_id}")
    clean: dict[str, Any] = {}
    for question in questionnaire():
        qid = question["id"]
        value = answers.get(qid)
        if value is None:
            if question["required"]:
                raise Problem(422, f"question {qid!r} needs an answer", field=f"answers.{qid}")
            continue
        limits = {"likert": (1, 5), "nps": (0, 10)}.get(question["kind"])
        if limits is not None:
            low, high = limits
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise Problem(
                    422,
                    f"question {qid!r} takes a whole number from {low} to {high}",
                    field=f"answers.{qid}",
                )
        elif not isinstance(value, str) or len(value) > 5000:
            raise Problem(
                422, f"question {qid!r} takes text up to 5000 characters", field=f"answers.{qid}"
            )
        clean[qid] = value
    return clean


async def submit(uow: UnitOfWork, token: str, answers: dict[str, Any]) -> None:
    invitation, campaign = await invitation_by_token(uow, token)
    if campaign.status != "open" or clock.now() >= campaign.closes_at:
        raise Problem(409, "this evaluation is closed")
    clean = validate(answers)
    # The conditional update makes a second or concurrent submission lose the race.
    claimed = await uow.execute(
        update(InvitationRow)
        .where(col(InvitationRow.id) == invitation.id)
        .where(col(InvitationRow.answered).is_(False))
        .values(answered=True, draft=None)
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        raise Problem(409, "this evaluation has already been answered")
    uow.session.add(
        ResponseRow(
            id=str(uuid.uuid4()),
            campaign_id=campaign.id,
            training_id=campaign.training_id,
            questionnaire_version=1,
            answers=clean,
        )
    )
    invited, answered = await counts(uow, campaign.id)
    campaign.revision += 1
    uow.session.add(campaign)
    uow.emit(
        ev.ResponseSubmitted(
            id=campaign.id,
            revision=campaign.revision,
            training_id=campaign.training_id,
            invited=invited,
            answered=answered,
        )
    )


async def counts(uow: UnitOfWork, campaign_id: str) -> tuple[int, int]:
    """How many were invited and how many answered."""
    answered = func.coalesce(func.sum(case((col(InvitationRow.answered), 1), else_=0)), 0)
    row = (
        await uow.session.exec(
            select(func.count(), answered)
            .select_from(InvitationRow)
            .where(InvitationRow.campaign_id == campaign_id)
        )
    ).one()
    return int(row[0]), int(row[1])
