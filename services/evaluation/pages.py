"""HTML pages for participants: the questionnaire behind an invitation link.

These routes are CSRF-protected (every form carries the token). The staff's pages
are in staff_pages.py (reports) and question_pages.py (the questions' editors); staff
without a session are sent to scheduling's sign-in page (a link by e-mail), and API users
may still paste a token into the shared /login page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath
from litestar.response import Redirect, Template

from services.evaluation import commands, domain, queries
from services.evaluation.schemas import Questionnaire
from services.evaluation.tables import CampaignRow, InvitationRow, TrainingRow
from services.evaluation.views import questionnaire_out
from shared import languages
from shared.clock import clock
from shared.commands import execute
from shared.errors import Conflict, NotFound
from shared.i18n import _
from shared.openapi import PageToo
from shared.params import DB, AppSettings
from shared.problems import problems
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


def _problem(question: domain.Question, reason: str) -> str:
    """What is wrong with an answer, said to the participant in their language (the API
    says it in English, from the domain)."""
    if reason == "needs an answer":
        return _("Needs an answer.")
    if question.kind in ("likert", "nps") and question.scale:
        low, high = question.scale
        return _("Choose a number from %(low)s to %(high)s.", low=low, high=high)
    if question.kind == "self_assessment":
        return _("Please give both ratings: before the training and now.")
    if question.kind in ("single", "multiple"):
        return _("Please choose from the options given.")
    limit = f"{domain.TEXT_MAX:,}"
    return _(
        "Please keep to %(limit)s characters of text, without control characters.", limit=limit
    )


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
    languages.holder_speaks(invitation.language)
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
    items = [
        Item(q, values.get(q.id), _problem(q, errors[q.id]) if q.id in errors else None)
        for q in questions
    ]
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
            # The language switcher stays on the questionnaire, not on its form's address.
            "switch_to": f"/evaluations/{token}",
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
    # A page for the participant: in their language (the JSON answer has no words of ours).
    opt=languages.PARTICIPANT,
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
    _clean, problems = domain.check_answers(questions, answers, complete=action != "save")
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
    languages.holder_speaks(invitation.language)
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


pages = Router(
    path="/",
    route_handlers=[answer_form, thanks],
    tags=["evaluation pages"],
    opt=languages.PARTICIPANT,
)
