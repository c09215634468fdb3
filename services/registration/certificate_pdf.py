"""The certificate of attendance as a PDF: who attended which training, where and when, the
hours of the sessions on the days attended, who organised it, its number and a QR code to
its public verification page. Written while speaking the participant's language."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date

from services.registration import pdf
from shared.countries import country
from shared.i18n import _, language

# Who runs the series with each host country.
SECRETARIAT = "Council of the Baltic Sea States Secretariat"


def hours_attended(
    sessions: Iterable[Mapping[str, Any]], days: Sequence[date], timezone: str
) -> timedelta:
    """The time of the sessions held on the days attended: breaks and cancelled sessions
    do not count."""
    zone = ZoneInfo(timezone)
    attended = set(days)
    total = timedelta()
    for session in sessions:
        if session.get("status") == "cancelled" or session.get("kind") == "break":
            continue
        starts = datetime.fromisoformat(session["starts_at"])
        ends = datetime.fromisoformat(session["ends_at"])
        if starts.astimezone(zone).date() in attended and ends > starts:
            total += ends - starts
    return total


def _hours(duration: timedelta) -> str:
    hours = round(duration.total_seconds() / 3600, 1)
    shown = f"{hours:g}"
    return _("%(hours)s hours", hours=shown)


def _dates(starts_on: date, ends_on: date) -> str:
    locale = language()
    if starts_on == ends_on:
        return format_date(starts_on, "long", locale=locale)
    first = format_date(starts_on, "long", locale=locale)
    return f"{first} \u2013 {format_date(ends_on, 'long', locale=locale)}"


def render(
    *,
    number: str,
    name: str,
    training: Any,
    days: Sequence[date],
    verification_url: str,
) -> bytes:
    """The certificate of `name` for `training` (a catalogue row with sessions)."""
    host = country(training.host_country)
    pdf_doc = pdf.document(_("Certificate of attendance"))
    pdf_doc.add_page()
    width = pdf_doc.w - 2 * 20
    pdf_doc.set_xy(20, 30)
    pdf_doc.set_font(pdf.FAMILY, "B", 26)
    pdf_doc.multi_cell(width, 12, _("Certificate of attendance"), align="C")
    pdf_doc.ln(8)
    pdf_doc.set_font(pdf.FAMILY, "", 13)
    pdf_doc.multi_cell(width, 8, _("This is to certify that"), align="C")
    pdf_doc.ln(4)
    pdf_doc.set_font(pdf.FAMILY, "B", 22)
    pdf_doc.multi_cell(width, 11, name, align="C")
    pdf_doc.ln(4)
    pdf_doc.set_font(pdf.FAMILY, "", 13)
    pdf_doc.multi_cell(width, 8, _("attended the training"), align="C")
    pdf_doc.ln(2)
    pdf_doc.set_font(pdf.FAMILY, "B", 16)
    pdf_doc.multi_cell(width, 9, training.title, align="C")
    pdf_doc.ln(2)
    pdf_doc.set_font(pdf.FAMILY, "", 13)
    place = _("held in %(city)s, %(country)s", city=training.city, country=host.name)
    pdf_doc.multi_cell(width, 8, place, align="C")
    pdf_doc.multi_cell(width, 8, _dates(training.starts_on, training.ends_on), align="C")
    hours = hours_attended(training.sessions or [], days, training.timezone)
    attended = _("Sessions attended: %(hours)s", hours=_hours(hours))
    pdf_doc.multi_cell(width, 8, attended, align="C")
    pdf_doc.ln(10)
    organised = _(
        "Organised by %(host)s and the %(secretariat)s",
        host=host.name,
        secretariat=SECRETARIAT,
    )
    pdf_doc.multi_cell(width, 8, organised, align="C")
    pdf_doc.image(pdf.qr_png(verification_url), x=(pdf_doc.w - 45) / 2, y=200, w=45, h=45)
    pdf_doc.set_xy(20, 250)
    pdf_doc.set_font(pdf.FAMILY, "", 10)
    pdf_doc.multi_cell(width, 6, _("Certificate number: %(number)s", number=number), align="C")
    check = _("Check that it is genuine: %(url)s", url=verification_url)
    pdf_doc.multi_cell(width, 6, check, align="C")
    return pdf.as_bytes(pdf_doc)
