"""Who a staff member is and what they may manage: pure, so domain rules can use it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Staff:
    """Who a valid staff token says the caller is."""

    sub: str
    role: str
    countries: frozenset[str]
    expires: int = 0  # the token's exp, seconds since the epoch

    @property
    def is_secretariat(self) -> bool:
        return self.role == "secretariat"

    def may_manage(self, country: str) -> bool:
        """Whether this person may act on a training hosted by `country`."""
        return self.is_secretariat or country.upper() in self.countries
