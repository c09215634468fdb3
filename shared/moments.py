"""One way to show a participant a moment: in the capital's time, with the zone named.

"Tuesday 10 December 2030, 09:00 (Europe/Tallinn)": the day and time as the capital's
clocks read them, and the zone's tzdb name (decision record 99: abbreviations are missing
for many zones and mean little far away). Pages use it as the template filter
`local_moment`, Python as `local_moment(moment, zone)`; the wording is English for now and
the i18n work formats it per language (Babel) here, for every caller at once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def local_moment(moment: datetime, timezone: str) -> str:
    """`moment` (aware; naive is taken as UTC) as read in `timezone`, the zone named."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    local = aware.astimezone(ZoneInfo(timezone))
    return f"{local:%A} {local.day} {local:%B %Y}, {local:%H:%M} ({timezone})"
