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
    issued: int = 0  # the token's iat

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
        StaffArea(service, label, settings.link(service, "/staff/"))
        for service, label in STAFF_AREA_LABELS.items()
    ]


def secretariat_areas(settings: Settings) -> list[StaffArea]:
    """What the staff navigation adds for the secretariat: the series statistics, which
    registration serves."""
    return [
        StaffArea("statistics", "Statistics", settings.link("registration", "/staff/statistics"))
    ]


@dataclass(frozen=True)
class Listing:
    """A staff member as the staff directory holds them now."""

    email: str
    role: str
    countries: frozenset[str]
    revoked: bool = False
    signed_out_at: int | None = None
    name: str = ""


def as_listed(staff: Staff, listing: Listing | None) -> Staff | None:
    """What a token still grants once the directory has spoken: None when its holder has
    been revoked or signed out everywhere since it was issued; else the token's role and
    countries, narrowed to the current ones. A subject the directory does not know (an
    integration's token from `capitals token`) keeps what its token says."""
    if listing is None:
        return staff
    if listing.revoked:
        return None
    if listing.signed_out_at is not None and staff.issued <= listing.signed_out_at:
        return None
    if staff.is_secretariat and listing.role == "secretariat":
        return staff
    if staff.is_secretariat:
        countries = listing.countries
    elif listing.role == "secretariat":
        countries = staff.countries
    else:
        countries = staff.countries & listing.countries
    if not countries:
        return None
    return Staff(
        sub=staff.sub,
        role="organiser",
        countries=frozenset(countries),
        expires=staff.expires,
        issued=staff.issued,
    )
