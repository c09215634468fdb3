"""The staff's report pages: the reports list, one training's report, reminders, series trends.

Staff sign in through the shared /login page, which keeps their token in a session
cookie; every form carries the CSRF token. The question editors are in question_pages.py.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler
from sqlmodel import col, select

from services.evaluation import charts, domain, figures, invitations, queries, reports, views
from services.evaluation.tables import CampaignRow, TrainingRow
from shared import staff_pages as shared_pages
from shared.commands import execute
from shared.errors import DomainError, NotFound
from shared.params import DB, INT32_MAX, AppSettings, StaffMember
from shared.problems import status_of
from shared.staff_pages import managed_training, secretariat_only, staff_router

HTML = "text/html"
Filter = Annotated[str | None, QueryParameter(max_length=80)]


def refused(message: str, status_code: int) -> Template:
    return Template(
        media_type=HTML,
        template_name="staff_refused.html",
        context={"message": message},
        status_code=status_code,
    )


# What a staff page of a training is about.
ManagedTraining = shared_pages.ManagedTraining[TrainingRow]


async def _managed(
    request: Request[Any, Any, Any], who: StaffMember, db: DB, settings: AppSettings
) -> ManagedTraining:
    """The training of the path's `training_id` if the caller (signed in, or sent to sign
    in first) manages its host country; else PageRefused with the refusal to show."""
    training_id = str(request.path_params["training_id"])
    async with db.session() as session:
        training = await session.get(TrainingRow, training_id)
    missing = f"There is no training {training_id}."
    return managed_training(refused, missing, who, training, db, settings)


# What a staff page's handler takes as `managed`.
Managed = NamedDependency[ManagedTraining]


def evaluation_pages(*handlers: ControllerRouterHandler) -> Router:
    """The evaluation's staff pages: `who` is the signed-in caller, `managed` their training.
    Pages for people, not part of the API's description."""
    return staff_router(
        refused,
        *handlers,
        dependencies={"managed": Provide(_managed)},
        tags=["evaluation pages"],
        include_in_schema=False,
    )


@get("/", operation_id="evaluationHome", include_in_schema=False)
async def home() -> Redirect:
    return Redirect(path="/reports", status_code=303)


@get("/staff/", operation_id="evaluationStaffArea", include_in_schema=False, status_code=303)
async def staff_area() -> Redirect:
    """The evaluation's staff area, as the shared staff navigation links it: the reports."""
    return Redirect(path="/reports", status_code=303)


@get("/reports", operation_id="reportsPage")
async def reports_page(
    who: StaffMember,
    db: DB,
    series: Filter = None,
    year: Filter = None,
    country: Filter = None,
) -> Template:
    """The trainings whose evaluation the caller may see, with their response rates;
    narrowed by series, year and host country (an empty choice is no filter)."""
    async with db.session() as session:
        visible = [
            t
            for t in await session.exec(
                select(TrainingRow).order_by(col(TrainingRow.starts_on).desc())
            )
            if who.may_manage(t.host_country)
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
            "staff": who,
            "chosen": chosen,
            "series": sorted(titles.items(), key=lambda kv: kv[1].lower()),
            "years": sorted({str(t.starts_on.year) for t in visible}, reverse=True),
            "countries": sorted({t.host_country for t in visible}),
        },
    )


@get("/reports/{training_id:str}", operation_id="reportPage")
async def report_page(
    training_id: FromPath[str],
    managed: Managed,
    db: DB,
    reminded: Annotated[int | None, QueryParameter(ge=0, le=INT32_MAX)] = None,
) -> Template:
    """One training's report with charts; the secretariat also sees who answered."""
    staff, training = managed.staff, managed.training
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


REMINDERS_SECRETARIAT_ONLY = secretariat_only("Only the secretariat may send reminders.")


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
    opt=REMINDERS_SECRETARIAT_ONLY,
)
async def confirm_reminders(managed: Managed) -> Template:
    """Reminders go out by mail to many people at once: a page that asks first."""
    return reminder_page(managed.training, None, 200)


@post(
    "/reports/{training_id:str}/reminders",
    operation_id="remindFromReportPage",
    status_code=303,
    opt=REMINDERS_SECRETARIAT_ONLY,
)
async def remind_from_page(managed: Managed, request: Request[Any, Any, Any]) -> Response[Any]:
    staff, training, db = managed.staff, managed.training, managed.db
    training_id = training.id
    form = await request.form()
    if form.get("confirm") != "on":
        return reminder_page(training, "Tick the box to confirm.", 422)
    remind = invitations.RemindNow(training_id)
    try:
        sent = await execute(db, invitations.send_reminders_now, managed.settings, staff, remind)
    except NotFound:
        return refused(f"There is no training {training_id}.", 404)
    except DomainError as refusal:
        return reminder_page(training, refusal.message, status_of(refusal))
    return Redirect(path=f"/reports/{training_id}?reminded={sent}", status_code=303)


@get(
    "/reports/series/{series:str}",
    operation_id="trendsPage",
    opt=secretariat_only("Only the secretariat sees the trends of a series."),
)
async def trends_page(series: FromPath[str], who: StaffMember, db: DB) -> Template:
    """The series across its editions: each core question's trend, response rates, follow-up."""
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
            "staff": who,
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
    # Where the public lands too: they go on to the reports, which ask them to sign in.
    route_handlers=[
        home,
        staff_area,
        evaluation_pages(
            reports_page, report_page, confirm_reminders, remind_from_page, trends_page
        ),
    ],
    tags=["evaluation pages"],
)
