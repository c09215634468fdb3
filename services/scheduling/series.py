"""Naming a series: the one command about series rather than trainings."""

from __future__ import annotations

from dataclasses import dataclass

from services.scheduling import audits, domain, queries
from services.scheduling.tables import SeriesRow
from shared.audit import audited
from shared.clock import clock
from shared.db import UnitOfWork
from shared.errors import Forbidden
from shared.settings import Settings
from shared.staff import Staff


@dataclass(frozen=True)
class NameSeries:
    slug: str
    title: str


@audited("series.titled", audits.series)
async def set_series_title(
    uow: UnitOfWork, settings: Settings, who: Staff | None, input: NameSeries
) -> SeriesRow:
    """The secretariat names any series; an organiser only one held in their countries alone."""
    domain.check_slug(input.slug)
    if who is None or not who.is_secretariat:
        hosts = await queries.hosts_of_series(uow.session, input.slug)
        foreign = sorted(code for code in hosts if who is None or not who.may_manage(code))
        if foreign:
            raise Forbidden(
                f"series {input.slug} also has trainings in {', '.join(foreign)}: "
                "only the secretariat may rename it"
            )
    series = await uow.session.get(SeriesRow, input.slug)
    if series is None:
        series = SeriesRow(slug=input.slug, title=input.title, created_at=clock.now())
    elif series.title != input.title:
        series.title = input.title
        series.revision += 1
    uow.session.add(series)
    return series
