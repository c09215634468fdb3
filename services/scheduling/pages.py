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
from shared import i18n, languages
from shared.auth import staff_or_none
from shared.calendar import KIND_LABELS
from shared.clock import clock
from shared.countries import UnknownCountry, country
from shared.i18n import N_, _
from shared.params import DB, AppSettings

DASH = "\u2013"  # en dash, as in "25\u201326 May 2009"
STATUS_LABELS = {
    "draft": N_("Draft"),
    "published": N_("Scheduled"),
    "completed": N_("Completed"),
    "cancelled": N_("Cancelled"),
}


def _country_name(code: str) -> str:
    try:
        return i18n.country_name(code, country(code).name)
    except UnknownCountry:
        return code


def day_label(day: date) -> str:
    return i18n.weekday_date(day)


def dates_label(starts_on: date, ends_on: date) -> str:
    if starts_on == ends_on:
        return day_label(starts_on)
    return i18n.dates(starts_on, ends_on)


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
                kind=_(KIND_LABELS[session.kind]) if session.kind in KIND_LABELS else session.kind,
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
    start = i18n.time(starts)
    end = i18n.time(ends)
    if ends.date() != starts.date():
        end = f"{i18n.date(ends.date())} {end}"
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
        opens = i18n.moment(training.registration_opens_at, training.timezone)
        return "soon", _("Registration opens on %(moment)s.", moment=opens)
    if now >= closes:
        return "closed", _("Registration is closed.")
    return "open", ""


def edition_state(training: TrainingRow, now: datetime, confirmed: int) -> tuple[str, str]:
    """(state, text) of an edition as a series page shows it: 'open' (with `text` saying
    whether seats are left), 'soon', 'closed', 'completed' or 'cancelled'. Whether it is
    full comes from the registration events scheduling keeps, so it may lag a moment."""
    if training.status in ("completed", "cancelled"):
        return training.status, _(STATUS_LABELS[training.status])
    state, note = registration_state(training, now)
    if state == "open":
        if confirmed >= training.capacity:
            return "open", _("Full: new registrations join the waiting list")
        return "open", _("Open for registration")
    if state == "soon":
        return "soon", note.removesuffix(".")
    return "closed", _("Registration closed")


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
        counts = await queries.tallies(session, [t.id for t in trainings])
    calendar = links.series_calendar_url(settings, slug)
    now = clock.now()
    rows = []
    for t in trainings:
        state, label = edition_state(t, now, counts[t.id].get("confirmed", 0))
        rows.append(
            {
                "id": t.id,
                "title": t.title,
                "city": t.city,
                "country": _country_name(t.host_country),
                "dates": dates_label(t.starts_on, t.ends_on),
                "starts_on": t.starts_on.isoformat(),
                "status": t.status,
                "state": state,
                "status_label": label,
                "by_nomination": t.by_nomination,
                "url": links.training_page_url(settings, t.id),
                "register_url": links.register_url(settings, t.id)
                if state == "open" and not t.by_nomination
                else None,
            }
        )
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
            "series": series,
            "country": _country_name(training.host_country),
            "dates": dates_label(training.starts_on, training.ends_on),
            "status_label": _(STATUS_LABELS[training.status]),
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


# The public pages are the participants': in their language (shared.languages).
pages = Router(
    path="/",
    route_handlers=[index_page, series_page, training_page],
    opt=languages.PARTICIPANT,
)
