"""JSON routes of the evaluation service."""

from __future__ import annotations

from typing import Annotated, Any, TypeAlias

from litestar import Response, Router, get, post, put
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlmodel import col, select

from services.evaluation import commands, domain, reports
from services.evaluation.reports import SeriesTrend, TrainingReport
from services.evaluation.schemas import (
    AnswersIn,
    BankIn,
    BankOut,
    ExtraQuestionsIn,
    InvitationOut,
    Invitations,
    ObjectiveOut,
    ObjectivesIn,
    QuestionOut,
    Reminded,
    Saved,
    Submitted,
    TrainingQuestions,
)
from services.evaluation.tables import BankRow, CampaignRow, InvitationRow, TrainingRow
from shared.auth import require_country, require_secretariat, require_staff, staff_of
from shared.clock import clock
from shared.db import Database
from shared.params import DB, INT32_MAX, Caller
from shared.problems import Problem, problems
from shared.settings import Settings
from shared.throttle import THROTTLE


async def manages_training(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Guard: the secretariat, or an organiser of the training's host country.

    A guard rather than a check in the handler, so 401/403 come before a bad
    body gets its 400.
    """
    staff = staff_of(connection)
    if staff is None:
        raise NotAuthorizedException(detail="a staff token is required")
    training_id = connection.path_params["training_id"]
    async with connection.app.state.runtime.db.session() as session:
        training = await session.get(TrainingRow, training_id)
    if training is None:
        raise Problem(404, f"no training {training_id}")
    require_country(staff, training.host_country)


# --- answering ---------------------------------------------------------------------------


# The invitation link's JSON writes share their path with the page route GET, so they are
# assembled with it in app.py and opt out of CSRF one by one, like the API router does.
NO_CSRF = {"exclude_from_csrf": True}
AppSettings: TypeAlias = NamedDependency[Settings]


@put(
    "/evaluations/{token:str}",
    operation_id="saveEvaluationDraft",
    responses=problems(404, 409, 413, 422, 429),
    status_code=200,
    opt=NO_CSRF,
    middleware=[THROTTLE],
)
async def save_draft(token: FromPath[str], data: JSONBody[AnswersIn], db: DB) -> Saved:
    """Save a partial answer to finish later, until the campaign closes; it stays personal."""
    async with db.unit() as uow:
        await commands.save_draft(uow, token, data.answers)
    return Saved(saved=True)


@post(
    "/evaluations/{token:str}",
    operation_id="submitEvaluation",
    responses=problems(404, 409, 413, 422, 429),
    status_code=201,
    opt=NO_CSRF,
    middleware=[THROTTLE],
)
async def submit(token: FromPath[str], data: JSONBody[AnswersIn], db: DB) -> Submitted:
    """Submit the answers once, anonymously; a second submission gets 409."""
    async with db.unit() as uow:
        await commands.submit(uow, token, data.answers)
    return Submitted(submitted=True)


# --- reports -------------------------------------------------------------------------


async def report_of(db: Any, training_id: str) -> TrainingReport:
    async with db.session() as session:
        training = await session.get(TrainingRow, training_id)
        assert training is not None  # the guard found it
        campaigns = await commands.campaigns_of(session, training_id)
        return await reports.training_report(session, training, campaigns)


@get(
    "/trainings/{training_id:str}/report",
    operation_id="trainingReport",
    responses=problems(403, 404),
    guards=[manages_training],
)
async def training_report(training_id: FromPath[str], db: DB) -> TrainingReport:
    """Counts, per-question figures, recommendation score, sessions, learning gain, comments."""
    return await report_of(db, training_id)


@get(
    "/trainings/{training_id:str}/report.csv",
    operation_id="trainingReportCsv",
    responses=problems(403, 404),
    guards=[manages_training],
    media_type="text/csv",
)
async def training_report_csv(training_id: FromPath[str], db: DB) -> Response[str]:
    report = await report_of(db, training_id)
    return Response(
        reports.report_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="evaluation-{training_id}.csv"'},
    )


async def trend_of(db: Database, series: str) -> SeriesTrend:
    async with db.session() as session:
        bank, _ = await commands.current_bank(session)
    trend = await reports.series_trend(db, series, bank)
    if trend is None:
        raise Problem(404, f"no series {series}")
    return trend


@get(
    "/series/{series:str}/trends",
    operation_id="seriesTrends",
    responses=problems(403, 404),
    guards=[require_secretariat],
)
async def series_trends(series: FromPath[str], db: DB) -> SeriesTrend:
    """Each core question by edition, response rates, learning gain and follow-up results."""
    return await trend_of(db, series)


@get(
    "/trainings/{training_id:str}/invitations",
    operation_id="listInvitations",
    responses=problems(403, 404),
    guards=[require_secretariat],
)
async def list_invitations(training_id: FromPath[str], db: DB) -> Invitations:
    """Who was invited and who answered; never who answered what."""
    return Invitations(items=await invitation_list(db, training_id))


async def invitation_list(db: Any, training_id: str) -> list[InvitationOut]:
    async with db.session() as session:
        if await session.get(TrainingRow, training_id) is None:
            raise Problem(404, f"no training {training_id}")
        rows = await session.exec(
            select(InvitationRow, CampaignRow.stage)
            .join(CampaignRow, col(CampaignRow.id) == col(InvitationRow.campaign_id))
            .where(CampaignRow.training_id == training_id)
            .order_by(col(CampaignRow.stage), col(InvitationRow.name))
        )
        return [
            InvitationOut(
                stage=stage,
                name=invitation.name,
                email=invitation.email,
                answered=invitation.answered,
                reminders_sent=invitation.reminders_sent,
                invited_at=invitation.invited_at.isoformat(),
                erased=invitation.erased,
            )
            for invitation, stage in rows
        ]


@post(
    "/trainings/{training_id:str}/reminders",
    operation_id="sendReminders",
    responses=problems(403, 404, 409),
    guards=[require_secretariat],
    status_code=200,
)
async def send_reminders(training_id: FromPath[str], db: DB, settings: AppSettings) -> Reminded:
    """Remind now everyone who has not answered an open campaign of the training."""
    async with db.unit() as uow:
        training = await uow.session.get(TrainingRow, training_id)
        if training is None:
            raise Problem(404, f"no training {training_id}")
        sent = await commands.send_reminders_now(uow, settings, training, clock.now())
    return Reminded(reminded=sent)


# --- the question bank and a training's own questions ------------------------------------------


def bank_out(bank: domain.Bank, row: BankRow | None) -> BankOut:
    return BankOut(
        version=bank.version,
        questions=[QuestionOut.of(q) for q in bank.questions],
        follow_up=[QuestionOut.of(q) for q in bank.follow_up],
        created_at=row.created_at.isoformat() if row else None,
        created_by=row.created_by if row else None,
    )


BankVersion = Annotated[int | None, QueryParameter(ge=1, le=INT32_MAX)]


@get("/questions", operation_id="getQuestionBank", responses=problems(404), guards=[require_staff])
async def get_questions(db: DB, version: BankVersion = None) -> BankOut:
    """The core bank (current, or an earlier `version`) used by every edition."""
    async with db.session() as session:
        if version is None:
            return bank_out(*await commands.current_bank(session))
        if version == 1:
            return bank_out(commands.BANK_V1, None)
        row = await session.get(BankRow, version)
        if row is None:
            raise Problem(404, f"no version {version} of the question bank")
        return bank_out(commands._bank(row), row)


@put(
    "/questions",
    operation_id="editQuestionBank",
    responses=problems(403, 409, 413, 422),
    guards=[require_secretariat],
)
async def put_questions(data: JSONBody[BankIn], db: DB, staff: Caller) -> BankOut:
    """A new version of the bank; results already collected keep the version they used."""
    assert staff is not None
    async with db.unit() as uow:
        bank, row = await commands.edit_bank(
            uow,
            staff,
            [q.to_question() for q in data.questions],
            [q.to_question() for q in data.follow_up],
        )
    return bank_out(bank, row)


async def training_questions_of(db: Any, training_id: str) -> TrainingQuestions:
    async with db.session() as session:
        training = await session.get(TrainingRow, training_id)
        assert training is not None
        campaign = await commands.campaign_of(session, training_id, domain.EVALUATION)
        if campaign is not None:
            questionnaire = commands.questions_of(campaign)
        else:
            bank, _ = await commands.current_bank(session)
            questionnaire = await commands.planned_questionnaire(session, training, bank)
    objectives = commands.objectives_of(training)
    derived = not objectives
    if derived:
        objectives = [
            domain.Objective(q.objective_id or q.id, q.text)
            for q in questionnaire
            if q.kind == "self_assessment"
        ]
    return TrainingQuestions(
        training_id=training_id,
        fixed=campaign is not None,
        objectives=[ObjectiveOut(o.id, o.text) for o in objectives],
        objectives_derived=derived,
        extra_questions=[
            QuestionOut.of(q) for q in domain.decode_questions(training.extra_questions)
        ],
        questionnaire=[QuestionOut.of(q) for q in questionnaire],
    )


@get(
    "/trainings/{training_id:str}/questions",
    operation_id="trainingQuestions",
    responses=problems(403, 404),
    guards=[manages_training],
)
async def training_questions(training_id: FromPath[str], db: DB) -> TrainingQuestions:
    """What the training's evaluation asks: fixed once open, a preview before."""
    return await training_questions_of(db, training_id)


@put(
    "/trainings/{training_id:str}/objectives",
    operation_id="setLearningObjectives",
    responses=problems(403, 404, 409, 413, 422),
    guards=[manages_training],
)
async def set_objectives(
    training_id: FromPath[str], data: JSONBody[ObjectivesIn], db: DB
) -> TrainingQuestions:
    """The learning objectives the self-assessment asks about (before and now)."""
    async with db.unit() as uow:
        training = await uow.session.get(TrainingRow, training_id)
        assert training is not None
        await commands.set_objectives(uow, training, data.objectives)
    return await training_questions_of(db, training_id)


@put(
    "/trainings/{training_id:str}/questions",
    operation_id="setExtraQuestions",
    responses=problems(403, 404, 409, 413, 422),
    guards=[manages_training],
)
async def set_extra_questions(
    training_id: FromPath[str], data: JSONBody[ExtraQuestionsIn], db: DB
) -> TrainingQuestions:
    """Questions asked in this training's evaluation only, after the core bank's."""
    async with db.unit() as uow:
        training = await uow.session.get(TrainingRow, training_id)
        assert training is not None
        await commands.set_extra_questions(uow, training, [q.to_question() for q in data.questions])
    return await training_questions_of(db, training_id)


answering = [save_draft, submit]

api = Router(
    path="/",
    route_handlers=[
        training_report,
        training_report_csv,
        series_trends,
        list_invitations,
        send_reminders,
        get_questions,
        put_questions,
        training_questions,
        set_objectives,
        set_extra_questions,
    ],
    opt={"exclude_from_csrf": True},
    tags=["evaluation"],
)
