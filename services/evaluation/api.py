"""JSON routes of the evaluation service."""

from __future__ import annotations

from typing import Annotated, Any

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
from shared.commands import Command
from shared.downloads import csv_download
from shared.params import DB, INT32_MAX
from shared.problems import problems
from shared.routes import (
    CALLS,
    Call,
    CommandCall,
    LinkCall,
    guarded,
    guarded_action,
    guarded_get,
    guarded_put,
)
from shared.throttle import THROTTLE

# --- answering ---------------------------------------------------------------------------


# The invitation link's JSON writes share their path with the page route GET, so they are
# assembled with it in app.py and opt out of CSRF one by one, like the API router does.
NO_CSRF = {"exclude_from_csrf": True}
# An answer sent through the invitation link: throttled, for nobody (`link_call`).
ANSWERING: dict[str, Any] = {
    "responses": problems(404, 409, 413, 422, 429),
    "opt": NO_CSRF,
    "middleware": [THROTTLE],
    "dependencies": CALLS,
}


@put("/evaluations/{token:str}", operation_id="saveEvaluationDraft", status_code=200, **ANSWERING)
async def save_draft(token: FromPath[str], data: JSONBody[AnswersIn], link_call: LinkCall) -> Saved:
    """Save a partial answer to finish later, until the campaign closes; it stays personal."""
    await link_call.run(commands.save_draft, commands.Answer(token, data.answers))
    return Saved(saved=True)


@post("/evaluations/{token:str}", operation_id="submitEvaluation", status_code=201, **ANSWERING)
async def submit(token: FromPath[str], data: JSONBody[AnswersIn], link_call: LinkCall) -> Submitted:
    """Submit the answers once, anonymously; a second submission gets 409."""
    await link_call.run(commands.submit, commands.Answer(token, data.answers))
    return Submitted(submitted=True)


# --- reports -------------------------------------------------------------------------

# Who may call a route is declared once for its group, in `api` at the end.


@guarded_get("/trainings/{training_id:str}/report", operation_id="trainingReport")
async def training_report(training_id: FromPath[str], db: DB) -> TrainingReport:
    """Counts, per-question figures, recommendation score, sessions, learning gain, comments."""
    return await reports.report_of(db, training_id)


@guarded_get(
    "/trainings/{training_id:str}/report.csv",
    operation_id="trainingReportCsv",
    media_type="text/csv",
)
async def training_report_csv(training_id: FromPath[str], db: DB) -> Response[bytes]:
    report = await reports.report_of(db, training_id)
    text = await exports.report_csv_off_loop(report)
    return csv_download(text, f"evaluation-{training_id}.csv")


@guarded_get("/series/{series:str}/trends", operation_id="seriesTrends")
async def series_trends(series: FromPath[str], db: DB) -> SeriesTrend:
    """Each core question by edition, response rates, learning gain and follow-up results."""
    return await reports.trend_of(db, series)


@guarded_get("/trainings/{training_id:str}/invitations", operation_id="listInvitations")
async def list_invitations(training_id: FromPath[str], db: DB) -> Invitations:
    """Who was invited and who answered; never who answered what."""
    async with db.session() as session:
        rows = await queries.invitations_of(session, training_id)
    return Invitations(items=[views.invitation_out(row, stage) for row, stage in rows])


@guarded_action("/trainings/{training_id:str}/reminders", operation_id="sendReminders")
async def send_reminders(training_id: FromPath[str], call: Call) -> Reminded:
    """Remind now everyone who has not answered an open campaign of the training."""
    sent = await call.run(invitations.send_reminders_now, invitations.RemindNow(training_id))
    return Reminded(reminded=sent)


# --- the question bank and a training's own questions ------------------------------------------


BankVersion = Annotated[int | None, QueryParameter(ge=1, le=INT32_MAX)]


@get("/questions", operation_id="getQuestionBank", responses=problems(404))
async def get_questions(db: DB, version: BankVersion = None) -> BankOut:
    """The core bank (current, or an earlier `version`) used by every edition."""
    async with db.session() as session:
        return views.bank_out(*await queries.bank_version(session, version))


@put("/questions", operation_id="editQuestionBank", responses=problems(403, 409, 413, 422))
async def put_questions(data: JSONBody[BankIn], call: Call) -> BankOut:
    """A new version of the bank; results already collected keep the version they used."""
    return views.bank_out(*await call.run(commands.edit_bank, data))


@guarded_get("/trainings/{training_id:str}/questions", operation_id="trainingQuestions")
async def training_questions(training_id: FromPath[str], db: DB) -> TrainingQuestions:
    """What the training's evaluation asks: fixed once open, a preview before."""
    return await views.training_questions_of(db, training_id)


async def _training_questions_after(
    call: CommandCall,
    command: Command[None],
    change: commands.SetObjectives | commands.SetExtraQuestions,
) -> TrainingQuestions:
    """Change a training's own questions, then answer with what its evaluation asks."""
    await call.run(command, change)
    return await views.training_questions_of(call.db, change.training_id)


@guarded_put("/trainings/{training_id:str}/objectives", operation_id="setLearningObjectives")
async def set_objectives(
    training_id: FromPath[str], data: JSONBody[ObjectivesIn], call: Call
) -> TrainingQuestions:
    """The learning objectives the self-assessment asks about (before and now)."""
    change = commands.SetObjectives(training_id, data.objectives)
    return await _training_questions_after(call, commands.set_objectives, change)


@guarded_put("/trainings/{training_id:str}/questions", operation_id="setExtraQuestions")
async def set_extra_questions(
    training_id: FromPath[str], data: JSONBody[ExtraQuestionsIn], call: Call
) -> TrainingQuestions:
    """Questions asked in this training's evaluation only, after the core bank's."""
    questions = [q.to_question() for q in data.questions]
    change = commands.SetExtraQuestions(training_id, questions)
    return await _training_questions_after(call, commands.set_extra_questions, change)


answering = [save_draft, submit]

api = Router(
    path="/",
    # In the order the API reference lists them.
    route_handlers=[
        guarded(manages_training, training_report, training_report_csv),
        guarded(require_secretariat, series_trends, list_invitations, send_reminders),
        guarded(require_staff, get_questions),
        guarded(require_secretariat, put_questions),
        guarded(manages_training, training_questions, set_objectives, set_extra_questions),
    ],
    opt={"exclude_from_csrf": True},
    tags=["evaluation"],
)
