"""The CBSS category of a participant's country on a training's first day: registration's rule."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal, NamedTuple

from shared.countries import EU, country

Category = Literal["member", "observer", "other"]


class _Period(NamedTuple):
    code: str
    category: Category
    start: date | None  # first day of the status; None: since before the series (2008)
    end: date | None  # first day without it; None: still holds


# CBSS membership and observer status, after the CBSS's own member and observer lists (cbss.org),
# the CBSS decision of 3 March 2022 (Russia's suspension, Belarus's observer status
# suspended) and Russia's announcement of its withdrawal on 17 May 2022. Only what matters
# from 2008, when the series started, is kept: statuses held before then have no start.
# Periods run from `start` (inclusive) to `end` (exclusive). A country absent from this
# table is "other" on every date.
_PERIODS: tuple[_Period, ...] = (
    # Members.
    _Period("DK", "member", None, None),
    _Period("EE", "member", None, None),
    _Period("FI", "member", None, None),
    _Period("DE", "member", None, None),
    _Period("IS", "member", None, None),
    _Period("LV", "member", None, None),
    _Period("LT", "member", None, None),
    _Period("NO", "member", None, None),
    _Period("PL", "member", None, None),
    _Period("SE", "member", None, None),
    _Period(EU, "member", None, None),
    # Russia's withdrawal, announced on 17 May 2022, taken as effective that day.
    # (The CBSS had already suspended Russia from its activities on 3 March 2022.)
    _Period("RU", "member", None, date(2022, 5, 17)),
    # Observer states as of July 2009.
    _Period("BY", "observer", None, date(2022, 3, 3)),  # observer status suspended 3 March 2022
    _Period("FR", "observer", None, None),
    _Period("IT", "observer", None, None),
    _Period("NL", "observer", None, None),
    _Period("RO", "observer", None, None),
    _Period("SK", "observer", None, None),
    _Period("ES", "observer", None, None),
    _Period("UA", "observer", None, None),
    _Period("GB", "observer", None, None),
    _Period("US", "observer", None, None),
    # Hungary is an observer today. The date it was granted the status is not documented
    # here: 2019-01-01 is a placeholder that must be checked against the CBSS records.
    _Period("HU", "observer", date(2019, 1, 1), None),
)


def category(code: str, on: date) -> Category:
    """The CBSS category of the country on that day: "member", "observer" or "other".

    A datetime counts by its own calendar date.
    """
    upper = country(code).code
    day = on.date() if isinstance(on, datetime) else on
    for period in _PERIODS:
        if (
            period.code == upper
            and (period.start is None or period.start <= day)
            and (period.end is None or day < period.end)
        ):
            return period.category
    return "other"
