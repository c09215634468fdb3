"""The staff's report pages: the reports list, one training's report, reminders, series trends.

Staff sign in through the shared /login page, which keeps their token in a session
cookie; every form carries the CSRF token. The question editors are in question_pages.py.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template
from sqlmodel import col, select

from services.evaluation import charts, domain, figures, invitations, queries, reports, views
from services.evaluation.tables import CampaignRow, TrainingRow
from shared.auth import Staff, check_host, sign_in_again, staff_or_none
from shared.commands import execute
from shared.errors import DomainError, Forbidden, NotFound
from shared.params import DB, INT32_MAX, AppSettings
from shared.problems import status_of

HTML = "text/html"
Filter = Annotated[str | None, QueryParameter(max_length=80)]


def refused(message: str, status_code: int) -> Template:
    return Template(
        media_type=HTML,
        template_name="staff_refused.html",
        context={"message": message},
        status_code=status_code,
    )


def staff_page(
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


async def managed_training(db: DB, staff: Staff, training_id: str) -> TrainingRow | Template:
    """The training if the caller manages its host country, else the refusal to show."""
    async with db.session() as session:
        training = await session.get(TrainingRow, training_id)
    if training is None:
        return refused(f"There is no training {training_id}.", 404)
    try:
        check_host(staff, training.host_country)
    except Forbidden:
        return refused("Your sign-in does not cover this training's host country.", 403)
    return training


async def managed(
    request: Request[Any, Any, Any], db: DB, training_id: str, *, secretariat: str | None = None
) -> tuple[Staff, TrainingRow] | Template | Redirect:
    """The caller and the training they manage, or the page to show instead
    (`secretariat` as for `staff_page`)."""
    staff = staff_page(request, secretariat=secretariat)
    if not isinstance(staff, Staff):
        return staff
    training = await managed_training(db, staff, training_id)
    if not isinstance(training, TrainingRow):
        return training
    return staff, training


@get("/", operation_id="evaluationHome", include_in_schema=False)
async def home() -> Redirect:
    return Redirect(path="/reports", status_code=303)


@get("/staff/", operation_id="evaluationStaffArea", include_in_schema=False, status_code=303)
async def staff_area() -> Redirect:
    """The evaluation's staff area, as the shared staff navigation links it: the reports."""
    return Redirect(path="/reports", status_code=303)


@get("/reports", operation_id="reportsPage", include_in_schema=False)
async def reports_page(
    request: Request[Any, Any, Any],
    db: DB,
    series: Filter = None,
    year: Filter = None,
    country: Filter = None,
) -> Template | Redirect:
    """The trainings whose evaluation the caller may see, with their response rates;
    narrowed by series, year and host country (an empty choice is no filter)."""
    staff = staff_page(request)
    if not isinstance(staff, Staff):
        return staff
    async with db.session() as session:
        visible = [
            t
            for t in await session.exec(
                select(TrainingRow).order_by(col(TrainingRow.starts_on).desc())
            )
            if staff.may_manage(t.host_country)
        ]
        campaigns = {(c.training_id, c.stage): c for c in await session.exec(select(CampaignRow))}
        counts = await reports.campaign_counts(session, [c.id for c in campaigns.values()])
    titles = views.series_titles(visible)
    chosen = {"series": series or "", "year": year or "", "country": (country or "").upper()}
    trainings = [
        t
        for t in visible
        if (not chosen["series"] or t.series == chosen["series"])
        and (not chosen["year"] or str(t.starts_on.year) == chosen["year"])
        and (not chosen["country"] or t.host_country == chosen["country"])
    ]
    rows = []
    for training in trainings:
        first = campaigns.get((training.id, domain.EVALUATION))
        c = counts.get(first.id) if first else None
        rows.append(
            {
                "training": training,
                "series_title": titles[training.series],
                "campaign": first,
                "invited": c.invited if c else 0,
                "answered": c.answered if c else 0,
                "rate": figures.response_rate(c.invited, c.answered) if c else 0.0,
            }
        )
    return Template(
        media_type=HTML,
        template_name="reports.html",
        context={
            "rows": rows,
            "staff": staff,
            "chosen": chosen,
            "series": sorted(titles.items(), key=lambda kv: kv[1].lower()),
            "years": sorted({str(t.starts_on.year) for t in visible}, reverse=True),
            "countries": sorted({t.host_country for t in visible}),
        },
    )


@get("/reports/{training_id:str}", operation_id="reportPage", include_in_schema=False)
async def report_page(
    training_id: FromPath[str],
    request: Request[Any, Any, Any],
    db: DB,
    reminded: Annotated[int | None, QueryParameter(ge=0, le=INT32_MAX)] = None,
) -> Template | Redirect:
    """One training's report with charts; the secretariat also sees who answered."""
    found = await managed(request, db, training_id)
    if not isinstance(found, tuple):
        return found
    staff, training = found
    async with db.session() as session:
        listed = await queries.invitations_of(session, training_id) if staff.is_secretariat else []
        campaigns = await queries.campaigns_of(session, training_id)
        sessions = await queries.sessions_of(session, training_id)
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
            "series_title": training.series_title or training.series,
            "staff": staff,
            "invitations": [views.invitation_out(row, stage) for row, stage in listed],
            "reminded": reminded,
            "options": options,
            "session_labels": views.session_labels(sessions, training.timezone),
            "figures": charts,
        },
    )


REMINDERS_SECRETARIAT_ONLY = "Only the secretariat may send reminders."


def reminder_page(training: TrainingRow, error: str | None, status_code: int) -> Template:
    return Template(
        media_type=HTML,
        template_name="reminders_confirm.html",
        context={"training": training, "error": error},
        status_code=status_code,
    )


@get(
    "/reports/{training_id:str}/reminders",
    operation_id="confirmRemindersPage",
    include_in_schema=False,
)
async def confirm_reminders(
    training_id: FromPath[str], request: Request[Any, Any, Any], db: DB
) -> Template | Redirect:
    """Reminders go out by mail to many people at once: a page that asks first."""
    found = await managed(request, db, training_id, secretariat=REMINDERS_SECRETARIAT_ONLY)
    if not isinstance(found, tuple):
        return found
    _, training = found
    return reminder_page(training, None, 200)


@post(
    "/reports/{training_id:str}/reminders",
    operation_id="remindFromReportPage",
    include_in_schema=False,
    status_code=303,
)
async def remind_from_page(
    training_id: FromPath[str], request: Request[Any, Any, Any], db: DB, settings: AppSettings
) -> Response[Any]:
    found = await managed(request, db, training_id, secretariat=REMINDERS_SECRETARIAT_ONLY)
    if not isinstance(found, tuple):
        return found
    staff, training = found
    form = await request.form()
    if form.get("confirm") != "on":
        return reminder_page(training, "Tick the box to confirm.", 422)
    remind = invitations.RemindNow(training_id)
    try:
        sent = await execute(db, invitations.send_reminders_now, settings, staff, remind)
    except NotFound:
        return refused(f"There is no training {training_id}.", 404)
    except DomainError as refusal:
        return reminder_page(training, refusal.message, status_of(refusal))
    return Redirect(path=f"/reports/{training_id}?reminded={sent}", status_code=303)


@get("/reports/series/{series:str}", operation_id="trendsPage", include_in_schema=False)
async def trends_page(
    series: FromPath[str], request: Request[Any, Any, Any], db: DB
) -> Template | Redirect:
    """The series across its editions: each core question's trend, response rates, follow-up."""
    staff = staff_page(request, secretariat="Only the secretariat sees the trends of a series.")
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


staff_pages = Router(
    path="/",
    route_handlers=[
        home,
        staff_area,
        reports_page,
        report_page,
        confirm_reminders,
        remind_from_page,
        trends_page,
    ],
    tags=["evaluation pages"],
)
