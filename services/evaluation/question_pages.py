"""The question editors: the secretariat's core bank, a training's objectives and extra questions.

The forms are read into the API's bodies (question_forms.py) and go through the
same commands as `PUT /questions`, `PUT /trainings/{id}/objectives` and
`PUT /trainings/{id}/questions`; a refusal is shown beside the field it names.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from services.evaluation import commands, domain, queries, question_forms, views
from services.evaluation.question_forms import Draft
from services.evaluation.staff_pages import HTML, Managed, evaluation_pages, refused
from services.evaluation.tables import TrainingRow
from shared.auth import Staff
from shared.commands import execute
from shared.errors import DomainError, NotFound
from shared.params import DB, INT32_MAX, AppSettings, StaffMember
from shared.problems import status_of
from shared.staff_pages import secretariat_only

SECRETARIAT_ONLY = secretariat_only("Only the secretariat edits the core question bank.")
KIND_NAMES = {
    "likert": "Rating from 1 to 5",
    "nps": "Recommendation, 0 to 10",
    "single": "One choice",
    "multiple": "Any number of choices",
    "text": "Free text",
}


def _form_values(form: Any) -> dict[str, str]:
    return {key: str(form.get(key) or "") for key in form}


def _refusal(refusal: DomainError, groups: Mapping[str, list[Draft]]) -> dict[str, str]:
    """The refusal keyed by the form field it is about."""
    field = question_forms.form_field(refusal.field, groups) if refusal.field else "form"
    return {field: getattr(refusal, "reason", None) or refusal.message}


def _with_blank(section: str, drafts: list[Draft]) -> list[Draft]:
    if any(d.new for d in drafts):
        return drafts
    return [*drafts, question_forms.blank(section, len(drafts) + 1)]


# --- the core bank ----------------------------------------------------------------------


async def _bank_page(
    db: DB,
    version: int | None,
    *,
    groups: Mapping[str, list[Draft]] | None = None,
    errors: Mapping[str, str] | None = None,
    saved: int | None = None,
    unchanged: bool = False,
    status_code: int = 200,
) -> Template:
    async with db.session() as session:
        current, _ = await queries.current_bank(session)
        shown, row = await queries.bank_version(session, version)
        history = await queries.bank_rows(session)
    out = views.bank_out(shown, row)
    editable = shown.version == current.version
    if groups is None:
        groups = {
            "questions": question_forms.drafts_of("questions", out.questions),
            "follow_up": question_forms.drafts_of("follow_up", out.follow_up),
        }
    else:
        groups = {section: _with_blank(section, drafts) for section, drafts in groups.items()}
    return Template(
        media_type=HTML,
        template_name="question_bank.html",
        context={
            "bank": out,
            "editable": editable,
            "current": current.version,
            "history": history,
            "groups": groups,
            "errors": errors or {},
            "saved": saved,
            "unchanged": unchanged,
            "kinds": {k: KIND_NAMES[k] for k in domain.BANK_KINDS},
        },
        status_code=status_code,
    )


@get(
    "/staff/questions",
    operation_id="questionBankPage",
    opt=SECRETARIAT_ONLY,
)
async def bank_page(
    db: DB,
    version: Annotated[int | None, QueryParameter(ge=1, le=INT32_MAX)] = None,
    saved: Annotated[int | None, QueryParameter(ge=1, le=INT32_MAX)] = None,
    unchanged: Annotated[int | None, QueryParameter(ge=0, le=1)] = None,
) -> Template:
    """The core bank as it is (editable), or an earlier version as campaigns asked it."""
    try:
        return await _bank_page(db, version, saved=saved, unchanged=bool(unchanged))
    except NotFound as refusal:
        return refused(refusal.message, 404)


@post(
    "/staff/questions",
    operation_id="editQuestionBankPage",
    opt=SECRETARIAT_ONLY,
)
async def edit_bank_page(
    request: Request[Any, Any, Any], who: StaffMember, db: DB, settings: AppSettings
) -> Response[Any]:
    """Save the edited bank as a new version; campaigns already opened keep theirs."""
    form = _form_values(await request.form())
    groups = {s: question_forms.read_drafts(form, s) for s in ("questions", "follow_up")}
    async with db.session() as session:
        before, _ = await queries.current_bank(session)
    try:
        body, groups = question_forms.bank_in(form)
        bank, _ = await execute(db, commands.edit_bank, settings, who, body)
    except DomainError as refusal:
        errors = _refusal(refusal, groups)
        return await _bank_page(
            db, None, groups=groups, errors=errors, status_code=status_of(refusal)
        )
    if bank.version == before.version:
        return Redirect(path="/staff/questions?unchanged=1", status_code=303)
    return Redirect(path=f"/staff/questions?saved={bank.version}", status_code=303)


# --- a training's own questions ------------------------------------------------------------


async def _training_page(
    db: DB,
    training: TrainingRow,
    *,
    objectives: str | None = None,
    drafts: list[Draft] | None = None,
    errors: Mapping[str, str] | None = None,
    saved: str | None = None,
    status_code: int = 200,
) -> Template:
    asked = await views.training_questions_of(db, training.id)
    if objectives is None:
        objectives = "" if asked.objectives_derived else "\n".join(o.text for o in asked.objectives)
    if drafts is None:
        drafts = question_forms.drafts_of("questions", asked.extra_questions)
    return Template(
        media_type=HTML,
        template_name="training_questions.html",
        context={
            "training": training,
            "asked": asked,
            "objectives": objectives,
            "groups": {"questions": _with_blank("questions", drafts)},
            "errors": errors or {},
            "saved": saved,
            "fixed": "The evaluation of this training has opened; its questions are fixed."
            if asked.fixed
            else None,
            "kinds": {k: KIND_NAMES[k] for k in domain.EXTRA_KINDS},
        },
        status_code=status_code,
    )


# Saves a posted form of a training's questions, as the staff member, through its command.
Save = Callable[[DB, AppSettings, Staff, str, dict[str, str]], Awaitable[object]]
# What the page shows again after a refusal: the objectives' text and the question
# drafts as posted (None: as stored), and the errors by form field.
Again = tuple[str | None, list[Draft] | None, dict[str, str]]
Refuse = Callable[[dict[str, str], DomainError], Again]


def _editor(
    path: str, operation_id: str, what: str, save: Save, refuse: Refuse
) -> HTTPRouteHandler:
    """The page route that saves one form of a training's questions, then goes back to the
    questions page saying `what` was saved; a refusal shows the page again as `refuse`
    says, with why."""

    @post(f"/reports/{{training_id:str}}/{path}", operation_id=operation_id)
    async def edit(managed: Managed, request: Request[Any, Any, Any]) -> Response[Any]:
        training_id = managed.training.id
        form = _form_values(await request.form())
        try:
            await save(managed.db, managed.settings, managed.staff, training_id, form)
        except DomainError as refusal:
            objectives, drafts, errors = refuse(form, refusal)
            return await _training_page(
                managed.db,
                managed.training,
                objectives=objectives,
                drafts=drafts,
                errors=errors,
                status_code=status_of(refusal),
            )
        return Redirect(path=f"/reports/{training_id}/questions?saved={what}", status_code=303)

    return edit


@get("/reports/{training_id:str}/questions", operation_id="trainingQuestionsPage")
async def training_questions_page(
    managed: Managed,
    db: DB,
    saved: Annotated[str | None, QueryParameter(max_length=20)] = None,
) -> Template:
    """A training's learning objectives and extra questions, editable until its evaluation opens."""
    return await _training_page(db, managed.training, saved=saved)


async def _save_objectives(
    db: DB, settings: AppSettings, staff: Staff, training_id: str, form: dict[str, str]
) -> None:
    body = question_forms.objectives_in(form)
    change = commands.SetObjectives(training_id, body.objectives)
    await execute(db, commands.set_objectives, settings, staff, change)


def _refuse_objectives(form: dict[str, str], why: DomainError) -> Again:
    return form.get("objectives", ""), None, {"objectives": why.message}


async def _save_extra_questions(
    db: DB, settings: AppSettings, staff: Staff, training_id: str, form: dict[str, str]
) -> None:
    body, _ = question_forms.extra_questions_in(form)
    questions = [q.to_question() for q in body.questions]
    change = commands.SetExtraQuestions(training_id, questions)
    await execute(db, commands.set_extra_questions, settings, staff, change)


def _refuse_extra_questions(form: dict[str, str], why: DomainError) -> Again:
    groups = {"questions": question_forms.read_drafts(form, "questions")}
    return None, groups["questions"], _refusal(why, groups)


objectives_page = _editor(
    "objectives", "setObjectivesPage", "objectives", _save_objectives, _refuse_objectives
)
extra_questions_page = _editor(
    "extra-questions",
    "setExtraQuestionsPage",
    "questions",
    _save_extra_questions,
    _refuse_extra_questions,
)


question_pages = evaluation_pages(
    bank_page,
    edit_bank_page,
    training_questions_page,
    objectives_page,
    extra_questions_page,
)
