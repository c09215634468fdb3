"""HTTP routes of the evaluation service."""

from __future__ import annotations

import statistics
from typing import Any

import msgspec
from litestar import Router, get, post, put
from litestar.params import FromPath, JSONBody
from sqlmodel import select

from services.evaluation import commands
from services.evaluation.tables import CampaignRow, ResponseRow, TrainingRow
from shared.auth import require_country, require_staff
from shared.params import DB, Caller
from shared.problems import Problem

SMALL_GROUP = 3


class AnswersIn(msgspec.Struct, forbid_unknown_fields=True):
    answers: dict[str, Any]


class Questionnaire(msgspec.Struct):
    training_id: FromPath[str]
    training_title: str
    questions: list[dict[str, Any]]
    draft: dict[str, Any] | None
    answered: bool
    closes_at: str


class QuestionResult(msgspec.Struct):
    id: str
    n: int
    mean: float | None = None
    median: float | None = None
    distribution: dict[str, int] | None = None


class Report(msgspec.Struct):
    training_id: FromPath[str]
    invited: int
    answered: int
    response_rate: float
    withheld: bool
    questions: list[QuestionResult]


@get("/evaluations/{token:str}", operation_id="getEvaluation")
async def get_evaluation(token: FromPath[str], db: DB) -> Questionnaire:
    """The questionnaire behind an invitation link, with any saved draft."""
    async with db.unit() as uow:
        invitation, campaign = await commands.invitation_by_token(uow, token)
        training = await uow.session.get(TrainingRow, campaign.training_id)
        assert training is not None
        return Questionnaire(
            training_id=training.id,
            training_title=training.title,
            questions=commands.questionnaire(),
            draft=invitation.draft,
            answered=invitation.answered,
            closes_at=campaign.closes_at.isoformat(),
        )


@put("/evaluations/{token:str}", operation_id="saveEvaluationDraft", status_code=200)
async def save_draft(token: FromPath[str], data: JSONBody[AnswersIn], db: DB) -> dict[str, bool]:
    async with db.unit() as uow:
        invitation, campaign = await commands.invitation_by_token(uow, token)
        if invitation.answered or campaign.status != "open":
            raise Problem(409, "this evaluation can no longer be changed")
        invitation.draft = data.answers
        uow.session.add(invitation)
    return {"saved": True}


@post("/evaluations/{token:str}", operation_id="submitEvaluation", status_code=201)
async def submit(token: FromPath[str], data: JSONBody[AnswersIn], db: DB) -> dict[str, bool]:
    """Submit the answers once; a second submission gets 409."""
    async with db.unit() as uow:
        await commands.submit(uow, token, data.answers)
    return {"submitted": True}


@get(
    "/trainings/{training_id:str}/report",
    operation_id="trainingReport",
    guards=[require_staff],
)
async def training_report(training_id: FromPath[str], db: DB, staff: Caller) -> Report:
    async with db.unit() as uow:
        training = await uow.session.get(TrainingRow, training_id)
        if training is None:
            raise Problem(404, f"no training {training_id}")
        require_country(staff, training.host_country)
        campaign = (
            await uow.session.exec(
                select(CampaignRow).where(CampaignRow.training_id == training_id)
            )
        ).first()
        invited, answered = await commands.counts(uow, campaign.id) if campaign else (0, 0)
        responses = list(
            await uow.session.exec(
                select(ResponseRow).where(ResponseRow.training_id == training_id)
            )
        )
    withheld = len(responses) < SMALL_GROUP
    results = []
    for question in commands.questionnaire():
        values = [r.answers[question["id"]] for r in responses if question["id"] in r.answers]
        result = QuestionResult(id=question["id"], n=len(values))
        if not withheld and question["kind"] in ("likert", "nps") and values:
            result.mean = round(statistics.fmean(values), 2)
            result.median = float(statistics.median(values))
            result.distribution = {str(v): values.count(v) for v in sorted(set(values))}
        results.append(result)
    return Report(
        training_id=training_id,
        invited=invited,
        answered=answered,
        response_rate=round(answered / invited, 4) if invited else 0.0,
        withheld=withheld,
        questions=results,
    )


api = Router(
    path="/",
    route_handlers=[get_evaluation, save_draft, submit, training_report],
    opt={"exclude_from_csrf": True},
    tags=["evaluation"],
)
