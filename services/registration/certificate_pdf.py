"""The certificate of attendance as a PDF: who attended which training, where and when, the
hours of the sessions on the days attended, who organised it, its number and a QR code to
its public verification page. Written while speaking the participant's language."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.registration import pdf
from shared import i18n
from shared.countries import country
from shared.i18n import _

MARGIN = 20  # mm


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


def render(
    *,
    number: str,
    name: str,
    training: Any,
    days: Sequence[date],
    verification_url: str,
) -> bytes:
    """The certificate of `name` for `training` (a catalogue row with sessions)."""
    found = country(training.host_country)
    host = i18n.country_name(found.code, found.name)
    hours = hours_attended(training.sessions or [], days, training.timezone)
    heading = _("Certificate of attendance")
    # (size, bold, line height, text, space after): the page top to bottom.
    lines = [
        (26, True, 12, heading, 8),
        (13, False, 8, _("This is to certify that"), 4),
        (22, True, 11, name, 4),
        (13, False, 8, _("attended the training"), 2),
        (16, True, 9, training.title, 2),
        (
            13,
            False,
            8,
            _("held in %(city)s, %(country)s", city=training.city, country=host),
            0,
        ),
        (13, False, 8, i18n.dates(training.starts_on, training.ends_on), 0),
        (13, False, 8, _("Sessions attended: %(hours)s", hours=_hours(hours)), 10),
        (
            13,
            False,
            8,
            _(
                "Organised by %(host)s and the %(secretariat)s",
                host=host,
                # Who runs the series with each host country.
                secretariat=_("Council of the Baltic Sea States Secretariat"),
            ),
            0,
        ),
    ]
    footer = [
        _("Certificate number: %(number)s", number=number),
        _("Check that it is genuine: %(url)s", url=verification_url),
    ]
    every_text = "".join(text for *_, text, _ in lines) + "".join(footer)
    document = pdf.document(heading, covering=every_text)
    document.add_page()
    width = document.w - 2 * MARGIN
    document.set_xy(MARGIN, 30)
    for size, bold, height, text, after in lines:
        document.set_font(pdf.FAMILY, "B" if bold else "", size)
        document.multi_cell(width, height, text, align="C")
        document.ln(after)
    document.image(pdf.qr_png(verification_url), x=(document.w - 45) / 2, y=200, w=45, h=45)
    document.set_xy(MARGIN, 250)
    document.set_font(pdf.FAMILY, "", 10)
    for text in footer:
        document.multi_cell(width, 6, text, align="C")
    return pdf.as_bytes(document)
