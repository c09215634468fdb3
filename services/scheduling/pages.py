"""Public pages: the series index, a series with its trainings, and a training's timetable."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, Router, get
from litestar.params import FromPath
from litestar.response import Template

from services.scheduling import links, queries
from services.scheduling.tables import SeriesRow, SessionRow, TrainingRow
from shared.auth import staff_or_none
from shared.clock import clock
from shared.countries import UnknownCountry, country
from shared.params import DB, AppSettings

# Every kind of `shared.events.contracts.SESSION_KINDS`, as a page names it (a test checks).
KIND_LABELS = {
    "lecture": "Lecture",
    "workshop": "Workshop",
    "panel": "Panel",
    "case_study": "Case study",
    "exhibition": "Exhibition",
    "networking": "Networking",
    "break": "Break",
}
DASH = "\u2013"  # en dash, as in "25\u201326 May 2009"
STATUS_LABELS = {
    "draft": "Draft",
    "published": "Scheduled",
    "completed": "Completed",
    "cancelled": "Cancelled",
}


def _country_name(code: str) -> str:
    try:
        return country(code).name
    except UnknownCountry:
        return code


def day_label(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def dates_label(starts_on: date, ends_on: date) -> str:
    if starts_on == ends_on:
        return day_label(starts_on)
    if (starts_on.year, starts_on.month) == (ends_on.year, ends_on.month):
        return f"{starts_on.day}{DASH}{ends_on.day} {ends_on:%B %Y}"
    if starts_on.year == ends_on.year:
        return f"{starts_on.day} {starts_on:%B} {DASH} {ends_on.day} {ends_on:%B %Y}"
    return f"{starts_on.day} {starts_on:%B %Y} {DASH} {ends_on.day} {ends_on:%B %Y}"


def utc_offset(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def zone_label(moment: datetime) -> str:
    """'EEST, UTC+03:00', or just the offset where the zone has no abbreviation ('+04')."""
    name = moment.tzname() or ""
    offset = utc_offset(moment)
    return offset if not name or name[0] in "+-" else f"{name}, {offset}"


@dataclass
class SessionView:
    title: str
    kind: str
    starts: datetime
    ends: datetime
    time: str
    room: str | None
    speakers: list[str]
    description: str | None
    cancelled: bool


@dataclass
class DayView:
    label: str
    iso: str
    sessions: list[SessionView] = field(default_factory=list)


def timetable(sessions: list[SessionRow], timezone: str) -> tuple[list[DayView], list[str]]:
    """Sessions by local day, and the zone's labels in use (two across a daylight-saving change)."""
    zone = ZoneInfo(timezone)
    moments = [
        (s, s.starts_at.astimezone(zone), s.ends_at.astimezone(zone))
        for s in sorted(sessions, key=lambda s: (s.starts_at, s.id))
    ]
    labels = sorted(
        {zone_label(m) for _, starts, ends in moments for m in (starts, ends)},
        key=lambda label: label.rsplit("UTC", 1)[-1],
    )
    days: dict[date, DayView] = {}
    for session, starts, ends in moments:
        day = days.setdefault(
            starts.date(), DayView(day_label(starts.date()), starts.date().isoformat())
        )
        day.sessions.append(
            SessionView(
                title=session.title,
                kind=KIND_LABELS.get(session.kind, session.kind),
                starts=starts,
                ends=ends,
                time=_times(starts, ends, several_offsets=len(labels) > 1),
                room=session.room,
                speakers=[
                    f"{s['name']} ({s['organisation']})" if s.get("organisation") else s["name"]
                    for s in session.speakers
                ],
                description=session.description,
                cancelled=session.status == "cancelled",
            )
        )
    return list(days.values()), labels


def _times(starts: datetime, ends: datetime, *, several_offsets: bool) -> str:
    start = f"{starts:%H:%M}"
    end = f"{ends:%H:%M}" if ends.date() == starts.date() else f"{ends:%d %b %H:%M}"
    if several_offsets or starts.utcoffset() != ends.utcoffset():
        # Across a daylight-saving change each end of the session needs its own offset.
        start += f" {starts.tzname()}"
        end += f" {ends.tzname()}"
    return f"{start}{DASH}{end}"


def registration_state(training: TrainingRow, now: datetime) -> tuple[str, str]:
    """('open' | 'soon' | 'closed' | 'none', text): whether to offer the registration link."""
    zone = ZoneInfo(training.timezone)
    if training.status != "published":
        return "none", ""
    if training.by_nomination:
        return "nomination", (
            "By nomination: participants are named by their country's national focal point."
        )
    first_day = datetime.combine(training.starts_on, datetime.min.time(), zone)
    closes = training.registration_closes_at or first_day
    if training.registration_opens_at and now < training.registration_opens_at:
        opens = training.registration_opens_at.astimezone(zone)
        return "soon", f"Registration opens on {day_label(opens.date())} at {opens:%H:%M}."
    if now >= closes:
        return "closed", "Registration is closed."
    return "open", ""


@get("/", operation_id="indexPage", include_in_schema=False)
async def index_page(db: DB) -> Template:
    """Every series, with how many trainings it has and when."""
    async with db.session() as session:
        series = await queries.all_series(session, by_title=True)
        trainings = await queries.listed_trainings(session)
    today = clock.now().date()
    items = []
    for row in series:
        own = [t for t in trainings if t.series == row.slug]
        upcoming = [t for t in own if t.ends_on >= today and t.status == "published"]
        items.append(
            {
                "slug": row.slug,
                "title": row.title,
                "count": len(own),
                "cities": sorted({t.city for t in own}),
                "first": own[0].starts_on if own else None,
                "last": own[-1].ends_on if own else None,
                "next": upcoming[0] if upcoming else None,
            }
        )
    return Template(template_name="index.html", context={"series": items, "dates": dates_label})


@get("/series/{slug:str}/page", operation_id="seriesPage", include_in_schema=False)
async def series_page(slug: FromPath[str], db: DB, settings: AppSettings) -> Template:
    """A series' trainings by date, with each capital, and the series' calendar links."""
    async with db.session() as session:
        series = await queries.series(session, slug)
        trainings = await queries.listed_trainings(session, slug)
    calendar = links.series_calendar_url(settings, slug)
    rows = [
        {
            "id": t.id,
            "title": t.title,
            "city": t.city,
            "country": _country_name(t.host_country),
            "dates": dates_label(t.starts_on, t.ends_on),
            "starts_on": t.starts_on.isoformat(),
            "status": t.status,
            "status_label": STATUS_LABELS[t.status],
            "by_nomination": t.by_nomination,
            "url": links.training_page_url(settings, t.id),
        }
        for t in trainings
    ]
    return Template(
        template_name="series.html",
        context={
            "series": series,
            "trainings": rows,
            "calendar_url": calendar,
            "webcal_url": links.webcal(calendar),
        },
    )


@get("/trainings/{training_id:str}/page", operation_id="trainingPage", include_in_schema=False)
async def training_page(
    request: Request[Any, Any, Any], training_id: FromPath[str], db: DB, settings: AppSettings
) -> Template:
    """A training's timetable in the capital's local time, with subscribe and register links."""
    async with db.session() as session:
        training = await queries.training_for(session, training_id, staff_or_none(request))
        series = await session.get(SeriesRow, training.series)
        sessions = await queries.sessions_of(session, training_id)
    days, zone_labels = timetable(sessions, training.timezone)
    if not zone_labels:
        zone = ZoneInfo(training.timezone)
        zone_labels = [zone_label(datetime.combine(training.starts_on, time(12), zone))]
    calendar = links.training_calendar_url(settings, training.id)
    series_calendar = links.series_calendar_url(settings, training.series)
    registration, registration_note = registration_state(training, clock.now())
    return Template(
        template_name="training.html",
        context={
            "training": training,
            "lang": training.language,
            "series": series,
            "country": _country_name(training.host_country),
            "dates": dates_label(training.starts_on, training.ends_on),
            "status_label": STATUS_LABELS[training.status],
            "days": days,
            "zone": training.timezone,
            "zone_labels": zone_labels,
            "calendar_url": calendar,
            "webcal_url": links.webcal(calendar),
            "series_calendar_url": series_calendar,
            "series_webcal_url": links.webcal(series_calendar),
            "registration": registration,
            "registration_note": registration_note,
            "register_url": links.register_url(settings, training.id),
        },
    )


pages = Router(path="/", route_handlers=[index_page, series_page, training_page])
