"""Who a staff member is and what they may manage: pure, so domain rules can use it."""

from __future__ import annotations

from dataclasses import dataclass

from shared.settings import Settings


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


@dataclass(frozen=True)
class StaffArea:
    """One service's staff area, as the staff navigation links it."""

    service: str
    label: str
    url: str


STAFF_AREA_LABELS = {
    "scheduling": "Trainings",
    "registration": "Registrations",
    "evaluation": "Evaluation",
}


def staff_areas(settings: Settings) -> list[StaffArea]:
    """The three staff areas, at each service's public address (shared/templates/staff.html)."""
    return [
        StaffArea(service, label, f"{settings.public_url(service)}/staff/")
        for service, label in STAFF_AREA_LABELS.items()
    ]
