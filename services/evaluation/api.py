"""JSON routes of the evaluation service."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, Router, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from services.evaluation import commands, exports, invitations, queries, reports, views
from services.evaluation.guards import manages_training
from services.evaluation.schemas import (
    AnswersIn,
    BankIn,
    BankOut,
    ExtraQuestionsIn,
    Invitations,
    ObjectivesIn,
    Reminded,
    Saved,
    SeriesTrend,
    Submitted,
    TrainingQuestions,
    TrainingReport,
)
from shared.auth import require_secretariat, require_staff
from shared.commands import Command, execute
from shared.db import Database
from shared.downloads import csv_download
from shared.params import DB, INT32_MAX, AppSettings, StaffMember
from shared.problems import problems
from shared.throttle import THROTTLE

# --- answering ---------------------------------------------------------------------------


# The invitation link's JSON writes share their path with the page route GET, so they are
# assembled with it in app.py and opt out of CSRF one by one, like the API router does.
NO_CSRF = {"exclude_from_csrf": True}


@put(
    "/evaluations/{token:str}",
    operation_id="saveEvaluationDraft",
    responses=problems(404, 409, 413, 422, 429),
    status_code=200,
    opt=NO_CSRF,
    middleware=[THROTTLE],
)
async def save_draft(
    token: FromPath[str], data: JSONBody[AnswersIn], db: DB, settings: AppSettings
) -> Saved:
    """Save a partial answer to finish later, until the campaign closes; it stays personal."""
    answer = commands.Answer(token, data.answers)
    await execute(db, commands.save_draft, settings, None, answer)
    return Saved(saved=True)


@post(
    "/evaluations/{token:str}",
    operation_id="submitEvaluation",
    responses=problems(404, 409, 413, 422, 429),
    status_code=201,
    opt=NO_CSRF,
    middleware=[THROTTLE],
)
async def submit(
    token: FromPath[str], data: JSONBody[AnswersIn], db: DB, settings: AppSettings
) -> Submitted:
    """Submit the answers once, anonymously; a second submission gets 409."""
    await execute(db, commands.submit, settings, None, commands.Answer(token, data.answers))
    return Submitted(submitted=True)


# --- reports -------------------------------------------------------------------------


@get(
    "/trainings/{training_id:str}/report",
    operation_id="trainingReport",
    responses=problems(403, 404),
    guards=[manages_training],
)
async def training_report(training_id: FromPath[str], db: DB) -> TrainingReport:
    """Counts, per-question figures, recommendation score, sessions, learning gain, comments."""
    return await reports.report_of(db, training_id)


@get(
    "/trainings/{training_id:str}/report.csv",
    operation_id="trainingReportCsv",
    responses=problems(403, 404),
    guards=[manages_training],
    media_type="text/csv",
)
async def training_report_csv(training_id: FromPath[str], db: DB) -> Response[bytes]:
    report = await reports.report_of(db, training_id)
    text = await exports.report_csv_off_loop(report)
    return csv_download(text, f"evaluation-{training_id}.csv")


@get(
    "/series/{series:str}/trends",
    operation_id="seriesTrends",
    responses=problems(403, 404),
    guards=[require_secretariat],
)
async def series_trends(series: FromPath[str], db: DB) -> SeriesTrend:
    """Each core question by edition, response rates, learning gain and follow-up results."""
    return await reports.trend_of(db, series)


@get(
    "/trainings/{training_id:str}/invitations",
    operation_id="listInvitations",
    responses=problems(403, 404),
    guards=[require_secretariat],
)
async def list_invitations(training_id: FromPath[str], db: DB) -> Invitations:
    """Who was invited and who answered; never who answered what."""
    async with db.session() as session:
        rows = await queries.invitations_of(session, training_id)
    return Invitations(items=[views.invitation_out(row, stage) for row, stage in rows])


@post(
    "/trainings/{training_id:str}/reminders",
    operation_id="sendReminders",
    responses=problems(403, 404, 409),
    guards=[require_secretariat],
    status_code=200,
)
async def send_reminders(
    training_id: FromPath[str], db: DB, settings: AppSettings, who: StaffMember
) -> Reminded:
    """Remind now everyone who has not answered an open campaign of the training."""
    remind = invitations.RemindNow(training_id)
    sent = await execute(db, invitations.send_reminders_now, settings, who, remind)
    return Reminded(reminded=sent)


# --- the question bank and a training's own questions ------------------------------------------


BankVersion = Annotated[int | None, QueryParameter(ge=1, le=INT32_MAX)]


@get("/questions", operation_id="getQuestionBank", responses=problems(404), guards=[require_staff])
async def get_questions(db: DB, version: BankVersion = None) -> BankOut:
    """The core bank (current, or an earlier `version`) used by every edition."""
    async with db.session() as session:
        return views.bank_out(*await queries.bank_version(session, version))


@put(
    "/questions",
    operation_id="editQuestionBank",
    responses=problems(403, 409, 413, 422),
    guards=[require_secretariat],
)
async def put_questions(
    data: JSONBody[BankIn], db: DB, settings: AppSettings, who: StaffMember
) -> BankOut:
    """A new version of the bank; results already collected keep the version they used."""
    return views.bank_out(*await execute(db, commands.edit_bank, settings, who, data))


@get(
    "/trainings/{training_id:str}/questions",
    operation_id="trainingQuestions",
    responses=problems(403, 404),
    guards=[manages_training],
)
async def training_questions(training_id: FromPath[str], db: DB) -> TrainingQuestions:
    """What the training's evaluation asks: fixed once open, a preview before."""
    return await views.training_questions_of(db, training_id)


async def _training_questions_after(
    db: Database,
    command: Command[None],
    settings: AppSettings,
    who: StaffMember,
    change: commands.SetObjectives | commands.SetExtraQuestions,
) -> TrainingQuestions:
    """Change a training's own questions, then answer with what its evaluation asks."""
    await execute(db, command, settings, who, change)
    return await views.training_questions_of(db, change.training_id)


@put(
    "/trainings/{training_id:str}/objectives",
    operation_id="setLearningObjectives",
    responses=problems(403, 404, 409, 413, 422),
    guards=[manages_training],
)
async def set_objectives(
    training_id: FromPath[str],
    data: JSONBody[ObjectivesIn],
    db: DB,
    settings: AppSettings,
    who: StaffMember,
) -> TrainingQuestions:
    """The learning objectives the self-assessment asks about (before and now)."""
    change = commands.SetObjectives(training_id, data.objectives)
    return await _training_questions_after(db, commands.set_objectives, settings, who, change)


@put(
    "/trainings/{training_id:str}/questions",
    operation_id="setExtraQuestions",
    responses=problems(403, 404, 409, 413, 422),
    guards=[manages_training],
)
async def set_extra_questions(
    training_id: FromPath[str],
    data: JSONBody[ExtraQuestionsIn],
    db: DB,
    settings: AppSettings,
    who: StaffMember,
) -> TrainingQuestions:
    """Questions asked in this training's evaluation only, after the core bank's."""
    questions = [q.to_question() for q in data.questions]
    change = commands.SetExtraQuestions(training_id, questions)
    return await _training_questions_after(db, commands.set_extra_questions, settings, who, change)


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
