"""The series statistics over HTTP, for the secretariat only: JSON and CSV for integrations
and spreadsheets, and the staff page with a year filter."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Response, get
from litestar.params import QueryParameter
from litestar.response import Template

from services.registration import queries, statistics
from services.registration.schemas import Statistics
from services.registration.staff_pages import refused
from shared.auth import require_secretariat
from shared.downloads import csv_download
from shared.params import DB
from shared.problems import problems
from shared.staff_pages import secretariat_only, staff_router

# The series began in 2008; a year is a training's first day's.
Year = Annotated[
    int | None,
    QueryParameter(ge=2000, le=2100, description="Only trainings whose first day is in this year."),
]
PageYear = Annotated[str | None, QueryParameter(max_length=8)]


async def figures(db: Any, year: int | None) -> Statistics:
    async with db.session() as session:
        trainings, seats, responses = await queries.statistics_facts(session)
    return statistics.statistics(trainings, seats, responses, year)


@get(
    "/statistics",
    operation_id="getStatistics",
    responses=problems(403),
    guards=[require_secretariat],
)
async def get_statistics(db: DB, year: Year = None) -> Statistics:
    """Participants trained (checked in at least once) per year, host country, participant
    country and CBSS category as of the training's first day; attendance rate (trained /
    confirmed) and evaluation response rate (answered / invited, as evaluation last
    published its counts). Cancelled trainings are left out."""
    return await figures(db, year)


@get(
    "/statistics.csv",
    operation_id="exportStatistics",
    responses=problems(403),
    guards=[require_secretariat],
    media_type="text/csv",
)
async def export_statistics(db: DB, year: Year = None) -> Response[bytes]:
    """The same figures as one CSV table, a `section` column naming each breakdown."""
    text = statistics.statistics_csv(await figures(db, year))
    name = f"statistics-{year}.csv" if year is not None else "statistics.csv"
    return csv_download(text, name)


@get(
    "/staff/statistics",
    operation_id="statisticsPage",
    opt=secretariat_only("Only the secretariat sees the series statistics."),
)
async def statistics_page(db: DB, year: PageYear = None) -> Template:
    """The series' statistics for the secretariat, narrowed to one year when one is chosen."""
    chosen = int(year) if year and year.isdigit() and 2000 <= int(year) <= 2100 else None
    shown = await figures(db, chosen)
    return Template(
        template_name="staff_statistics.html",
        context={"figures": shown, "current_area": "statistics"},
    )


API_ROUTES = [get_statistics, export_statistics]
PAGE_ROUTES = [staff_router(refused, statistics_page)]
