"""HTML pages: the questionnaire behind an invitation link, and the staff's reports with charts.

These routes are CSRF-protected (every form carries the token); staff without a session
are sent to scheduling's sign-in page (a link by e-mail); API users may still paste a token
into the shared /login page. Either way the token is kept in a session cookie.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template
from sqlmodel import col, select

from services.evaluation import charts, commands, domain, figures, invitations, queries, reports
from services.evaluation.schemas import Questionnaire
from services.evaluation.tables import CampaignRow, InvitationRow, TrainingRow
from services.evaluation.views import invitation_out, questionnaire_out
from shared.auth import Staff, check_host, sign_in_again, staff_or_none
from shared.clock import clock
from shared.commands import execute
from shared.errors import Conflict, DomainError, Forbidden, NotFound
from shared.openapi import PageToo
from shared.params import DB, INT32_MAX, AppSettings
from shared.problems import problems, status_of
from shared.throttle import THROTTLE

HTML = "text/html"


# --- the questionnaire --------------------------------------------------------------------


@dataclass
class Item:
    """One question on the form, with what the person has entered and any problem."""

    question: domain.Question
    value: Any
    error: str | None

    @property
    def dom_id(self) -> str:
        return "q-" + self.question.id.replace(":", "-")

    @property
    def points(self) -> list[int]:
        low, high = self.question.scale or (0, -1)
        return list(range(low, high + 1))


def form_answers(questions: tuple[domain.Question, ...], form: FormMultiDict) -> dict[str, Any]:
    """The answers a browser sent, in the shape the JSON API takes."""

    def number(raw: str | None) -> Any:
        if raw is None or raw == "":
            return None
        return int(raw) if raw.lstrip("-").isdigit() else raw

    answers: dict[str, Any] = {}
    for question in questions:
        qid = question.id
        if question.kind in ("likert", "nps"):
            value = number(form.get(qid))
        elif question.kind == "self_assessment":
            parts = {p: number(form.get(f"{qid}.{p}")) for p in domain.ASSESSMENT_PARTS}
            value = {p: v for p, v in parts.items() if v is not None} or None
        elif question.kind == "multiple":
            value = [v for v in form.getall(qid, []) if v] or None
        else:
            # Browsers send a textarea's line breaks as CR LF.
            value = (form.get(qid) or "").replace("\r\n", "\n") or None
        if value is not None:
            answers[qid] = value
    return answers


def questionnaire_page(
    token: str,
    invitation: InvitationRow,
    campaign: CampaignRow,
    training: TrainingRow,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    saved: bool = False,
    status_code: int = 200,
) -> Template:
    now = clock.now()
    if invitation.responded:
        return Template(
            media_type=HTML,
            template_name="evaluation_done.html",
            context={"training": training, "campaign": campaign, "reason": "answered"},
        )
    if not domain.campaign_open(campaign.status, campaign.closes_at, now):
        return Template(
            media_type=HTML,
            template_name="evaluation_done.html",
            context={"training": training, "campaign": campaign, "reason": "closed"},
            status_code=409 if status_code != 200 else 200,
        )
    values = values if values is not None else (invitation.draft or {})
    errors = errors or {}
    questions = domain.decode_questions(campaign.questions)
    items = [Item(q, values.get(q.id), errors.get(q.id)) for q in questions]
    return Template(
        media_type=HTML,
        template_name="questionnaire.html",
        context={
            "token": token,
            "training": training,
            "campaign": campaign,
            "items": items,
            "errors": [item for item in items if item.error],
            "unknown": [qid for qid in errors if qid not in {q.id for q in questions}],
            "saved": saved,
            "lang": training.language,
        },
        status_code=status_code,
    )


def missing() -> Template:
    return Template(media_type=HTML, template_name="evaluation_missing.html", status_code=404)


@get(
    "/evaluations/{token:str}",
    operation_id="getEvaluation",
    responses=problems(404),
    operation_class=PageToo,
)
async def get_evaluation(
    token: FromPath[str], request: Request[Any, Any, Any], db: DB
) -> Questionnaire | Template:
    """The questionnaire behind an invitation link: a form for a browser, JSON otherwise."""
    wants_html = request.accept.best_match(["application/json", HTML]) == HTML
    async with db.session() as session:
        try:
            invitation, campaign, training = await queries.invitation_by_token(session, token)
        except NotFound:
            if wants_html:
                return missing()
            raise
    if wants_html:
        return questionnaire_page(
            token, invitation, campaign, training, saved=request.query_params.get("saved") == "1"
        )
    return questionnaire_out(invitation, campaign, training, clock.now())


@post(
    "/evaluations/{token:str}/form",
    operation_id="answerEvaluationForm",
    include_in_schema=False,
    status_code=303,
    middleware=[THROTTLE],
)
async def answer_form(
    token: FromPath[str], request: Request[Any, Any, Any], db: DB, settings: AppSettings
) -> Response[Any]:
    """The form's two buttons: save a draft, or submit."""
    form = await request.form()
    action = form.get("action", "submit")
    async with db.session() as session:
        try:
            invitation, campaign, training = await queries.invitation_by_token(session, token)
        except NotFound:
            return missing()
    questions = domain.decode_questions(campaign.questions)
    answers = form_answers(questions, form)
    _, problems = domain.check_answers(questions, answers, complete=action != "save")
    if problems:
        return questionnaire_page(
            token, invitation, campaign, training, values=answers, errors=problems, status_code=422
        )
    command = commands.save_draft if action == "save" else commands.submit
    try:
        await execute(db, command, settings, None, commands.Answer(token, answers))
    except Conflict:
        async with db.session() as session:
            invitation, campaign, training = await queries.invitation_by_token(session, token)
        return questionnaire_page(token, invitation, campaign, training, status_code=409)
    if action == "save":
        return Redirect(path=f"/evaluations/{token}?saved=1", status_code=303)
    return Redirect(path=f"/evaluations/{token}/thanks", status_code=303)


@get("/evaluations/{token:str}/thanks", operation_id="evaluationThanks", include_in_schema=False)
async def thanks(token: FromPath[str], db: DB) -> Template:
    async with db.session() as session:
        try:
            invitation, campaign, training = await queries.invitation_by_token(session, token)
        except NotFound:
            return missing()
    if not invitation.responded:
        return Template(
            media_type=HTML,
            template_name="evaluation_done.html",
            context={
                "training": training,
                "campaign": campaign,
                "reason": "not_answered",
                "token": token,
            },
        )
    return Template(media_type=HTML, template_name="thanks.html", context={"training": training})


# --- staff pages ---------------------------------------------------------------------------


def refused(message: str, status_code: int) -> Template:
    return Template(
        media_type=HTML,
        template_name="staff_refused.html",
        context={"message": message},
        status_code=status_code,
    )


def _staff_page(
    request: Request[Any, Any, Any], *, secretariat: str | None = None
) -> Staff | Template | Redirect:
    """The signed-in staff member, or the page to show instead: the sign-in for the
    public, a refusal when `secretariat` (its text) says only the secretariat may see it."""
    staff = staff_or_none(request)
    if staff is None:
        return sign_in_again(request)
    if secretariat is not None and not staff.is_secretariat:
        return refused(secretariat, 403)
    return staff


@get("/", operation_id="evaluationHome", include_in_schema=False)
async def home() -> Redirect:
    return Redirect(path="/reports", status_code=303)


@get("/staff/", operation_id="evaluationStaffArea", include_in_schema=False, status_code=303)
async def staff_area() -> Redirect:
    """The evaluation's staff area, as the shared staff navigation links it: the reports."""
    return Redirect(path="/reports", status_code=303)


@get("/reports", operation_id="reportsPage", include_in_schema=False)
async def reports_page(request: Request[Any, Any, Any], db: DB) -> Template | Redirect:
    """The trainings whose evaluation the caller may see, with their response rates."""
    staff = _staff_page(request)
    if not isinstance(staff, Staff):
        return staff
    async with db.session() as session:
        trainings = [
            t
            for t in await session.exec(
                select(TrainingRow).order_by(col(TrainingRow.starts_on).desc())
            )
            if staff.may_manage(t.host_country)
        ]
        campaigns = {(c.training_id, c.stage): c for c in await session.exec(select(CampaignRow))}
        counts = await reports.campaign_counts(session, [c.id for c in campaigns.values()])
    rows = []
    for training in trainings:
        first = campaigns.get((training.id, domain.EVALUATION))
        c = counts.get(first.id) if first else None
        rows.append(
            {
                "training": training,
                "campaign": first,
                "invited": c.invited if c else 0,
                "answered": c.answered if c else 0,
                "rate": figures.response_rate(c.invited, c.answered) if c else 0.0,
            }
        )
    series = sorted({t.series for t in trainings}) if staff.is_secretariat else []
    return Template(
        media_type=HTML,
        template_name="reports.html",
        context={"rows": rows, "series": series, "staff": staff},
    )


@get("/reports/{training_id:str}", operation_id="reportPage", include_in_schema=False)
async def report_page(
    training_id: FromPath[str],
    request: Request[Any, Any, Any],
    db: DB,
    reminded: Annotated[int | None, QueryParameter(ge=0, le=INT32_MAX)] = None,
) -> Template | Redirect:
    """One training's report with charts; the secretariat also sees who answered."""
    staff = _staff_page(request)
    if not isinstance(staff, Staff):
        return staff
    async with db.session() as session:
        training = await session.get(TrainingRow, training_id)
        if training is None:
            return refused(f"There is no training {training_id}.", 404)
        try:
            check_host(staff, training.host_country)
        except Forbidden:
            return refused("Your sign-in does not cover this training's host country.", 403)
        listed = await queries.invitations_of(session, training_id) if staff.is_secretariat else []
        campaigns = await queries.campaigns_of(session, training_id)
    report = await reports.report_of(db, training_id)
    options = {
        q.id: {o.id: o.text for o in q.options}
        for campaign in campaigns
        for q in domain.decode_questions(campaign.questions)
        if q.options
    }
    return Template(
        media_type=HTML,
        template_name="report.html",
        context={
            "report": report,
            "training": training,
            "staff": staff,
            "invitations": [invitation_out(row, stage) for row, stage in listed],
            "reminded": reminded,
            "options": options,
            "figures": charts,
        },
    )


@post(
    "/reports/{training_id:str}/reminders",
    operation_id="remindFromReportPage",
    include_in_schema=False,
    status_code=303,
)
async def remind_from_page(
    training_id: FromPath[str], request: Request[Any, Any, Any], db: DB, settings: AppSettings
) -> Response[Any]:
    staff = _staff_page(request, secretariat="Only the secretariat may send reminders.")
    if not isinstance(staff, Staff):
        return staff
    remind = invitations.RemindNow(training_id)
    try:
        sent = await execute(db, invitations.send_reminders_now, settings, staff, remind)
    except NotFound:
        return refused(f"There is no training {training_id}.", 404)
    except DomainError as refusal:
        return refused(refusal.message, status_of(refusal))
    return Redirect(path=f"/reports/{training_id}?reminded={sent}", status_code=303)


@get("/reports/series/{series:str}", operation_id="trendsPage", include_in_schema=False)
async def trends_page(
    series: FromPath[str], request: Request[Any, Any, Any], db: DB
) -> Template | Redirect:
    """The series across its editions: each core question's trend, response rates, follow-up."""
    staff = _staff_page(request, secretariat="Only the secretariat sees the trends of a series.")
    if not isinstance(staff, Staff):
        return staff
    try:
        trend = await reports.trend_of(db, series)
    except NotFound as refusal:
        return refused(refusal.message, status_of(refusal))
    labels = {e.training_id: f"{e.city} {e.starts_on}" for e in trend.editions}
    return Template(
        media_type=HTML,
        template_name="trends.html",
        context={
            "trend": trend,
            "staff": staff,
            "labels": labels,
            "rates": [(labels[e.training_id], e.invited, e.answered) for e in trend.editions],
            "follow_up_rates": [
                (labels.get(e.training_id, e.training_id), e.invited, e.answered)
                for e in trend.follow_up.editions
            ],
            "figures": charts,
        },
    )


pages = Router(
    path="/",
    route_handlers=[
        answer_form,
        thanks,
        home,
        staff_area,
        reports_page,
        report_page,
        remind_from_page,
        trends_page,
    ],
    tags=["evaluation pages"],
)
