"""Request and response bodies of the registration API."""

from __future__ import annotations

from datetime import date, datetime

import msgspec

from services.registration.nomination_schemas import (
    EmailChecked,
    FocalPointOut,
    NominationOut,
    PersonIn,
)
from shared.inputs import CountryCode, Email, FreeText
from shared.inputs import Line as OptionalText

Need = FreeText


class Needs(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """What the participant asks for: access (mobility, hearing, ...) and diet."""

    access: Need | None = None
    diet: Need | None = None


class RegistrationIn(PersonIn):
    country: CountryCode
    consent: bool
    position: OptionalText | None = None
    needs: Needs | None = None
    # One of CAPITALS_LANGUAGES; unset: the best match of Accept-Language (intake).
    language: str | None = None


class DetailsIn(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """The participant's corrections: only the fields sent change; an empty `position` or
    need clears it. The e-mail address and country are not changed here."""

    name: str | msgspec.UnsetType = msgspec.UNSET
    organisation: str | msgspec.UnsetType = msgspec.UNSET
    position: str | msgspec.UnsetType | None = msgspec.UNSET
    needs: Needs | msgspec.UnsetType | None = msgspec.UNSET
    language: str | msgspec.UnsetType = msgspec.UNSET


class RegistrationFacts(msgspec.Struct):
    """Who registered for which training, and where the registration stands: the fields
    the API's view of a registration and the privacy export share."""

    id: str
    training_id: str
    status: str
    name: str
    email: str
    organisation: str
    position: str | None
    country: str
    category: str
    needs: Needs | None


class RegistrationOut(RegistrationFacts):
    participant_id: str
    waitlist_position: int | None
    waitlist_reason: str | None
    checked_in: bool
    created_at: datetime
    updated_at: datetime
    # The language every mail about the registration is written in.
    language: str = "en"
    # What the badge prints for the door (not a secret: it only names the registration).
    check_in_code: str | None = None
    # The days of the training the participant was checked in on.
    days_attended: list[date] = []


class RegisteredOut(RegistrationOut):
    """The answer to registering: the only response that carries the manage token."""

    manage_token: str = ""
    manage_url: str = ""
    calendar_url: str = ""


class CheckInIn(msgspec.Struct, forbid_unknown_fields=True):
    """The day a check-in is for; without it, today in the training's time zone."""

    day: str | None = None


class RevocationIn(msgspec.Struct, forbid_unknown_fields=True):
    """Why the secretariat revokes a certificate: one of the reason categories."""

    reason: str


class CertificateOut(msgspec.Struct):
    registration_id: str
    number: str
    status: str
    reason: str | None
    verification_url: str


class CalendarLinkOut(msgspec.Struct):
    calendar_url: str


class CatalogueEntry(msgspec.Struct):
    id: str
    title: str
    host_country: str
    city: str
    venue: str
    starts_on: date
    ends_on: date
    timezone: str
    capacity: int
    seats_left: int
    registration_open: bool
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None
    moderated: bool
    language: str
    status: str
    description: str | None = None
    by_nomination: bool = False


class EmailIn(EmailChecked):
    email: Email


# {country: maximum}; keys and values are checked by the domain, to name the bad country.
Quotas = dict[str, int]


class ParticipantExport(msgspec.Struct):
    id: str
    email: str
    name: str
    created_at: datetime
    calendar_feed_generation: int


class RegistrationExport(RegistrationFacts):
    training_title: str
    training_starts_on: date
    consent_at: datetime
    checked_in_at: datetime | None
    created_at: datetime
    updated_at: datetime
    language: str = "en"
    days_attended: list[date] = []
    # The certificate of attendance's number and status, when one was issued.
    certificate_number: str | None = None
    certificate_status: str | None = None


class MailExport(msgspec.Struct):
    subject: str
    queued_at: datetime
    sent_at: datetime | None


class PrivacyExport(msgspec.Struct, omit_defaults=True):
    """Everything the registration service holds about one e-mail address (nominations and
    focal point roles only where there are some)."""

    email: str
    participant: ParticipantExport | None
    registrations: list[RegistrationExport]
    mails: list[MailExport]
    letters: list[LetterOut] = []
    nominations: list[NominationOut] = []
    focal_points: list[FocalPointOut] = []


class ErasureOut(msgspec.Struct):
    email: str
    participant_id: str | None
    registrations_erased: int
    registrations_cancelled: int
    nominations_erased: int = 0
    focal_points_erased: int = 0


class RegistrationList(msgspec.Struct):
    items: list[RegistrationOut]
    total: int
    limit: int
    offset: int


# --- the series statistics (secretariat) ----------------------------------------------------


class Attendance(msgspec.Struct, kw_only=True):
    """`trained`: confirmed participants checked in at least once; `attendance_rate`:
    trained / confirmed (null without confirmed participants)."""

    trainings: int
    confirmed: int
    trained: int
    attendance_rate: float | None


class Figures(Attendance, kw_only=True):
    """Attendance, with evaluation's counts as it last published them: `response_rate` is
    answered / invited over the trainings it has published counts for (null before)."""

    invited: int
    answered: int
    response_rate: float | None


class YearFigures(Figures, kw_only=True):
    year: int
    # Distinct people trained that year (one person at two trainings counts once here).
    people: int


class HostCountryFigures(Figures, kw_only=True):
    country: str
    name: str


class ParticipantCountryFigures(Attendance, kw_only=True):
    country: str
    name: str


class CategoryFigures(Attendance, kw_only=True):
    category: str  # member, observer or other, as of each training's first day


class TrainingFigures(Figures, kw_only=True):
    id: str
    title: str
    series: str
    host_country: str
    city: str
    starts_on: date
    status: str


class Statistics(msgspec.Struct, kw_only=True):
    """The figures of the series' annual report; `year` null means every year."""

    year: int | None
    years: list[int]
    total: Figures
    # Distinct people trained over the period.
    people: int
    by_year: list[YearFigures]
    by_host_country: list[HostCountryFigures]
    by_participant_country: list[ParticipantCountryFigures]
    by_category: list[CategoryFigures]
    trainings: list[TrainingFigures]


# --- visa invitation letters ------------------------------------------------------------


class LetterIn(msgspec.Struct, forbid_unknown_fields=True):
    """A participant's request for an invitation letter: the passport's details."""

    passport_name: str
    nationality: str
    passport_number: str
    date_of_birth: date


class LetterOut(msgspec.Struct, kw_only=True):
    """A letter request as the participant and the host country's staff see it."""

    registration_id: str
    training_id: str
    status: str
    passport_name: str
    nationality: str
    passport_number: str
    date_of_birth: date
    requested_at: datetime
    decided_at: datetime | None = None
    # The participant's name and organisation as registered, for staff lists.
    name: str = ""
    organisation: str = ""


class LetterList(msgspec.Struct):
    items: list[LetterOut]


class LetterheadIn(msgspec.Struct, forbid_unknown_fields=True):
    """Who invites: the host ministry's letterhead (several lines) and its signatory."""

    ministry: str
    signatory_name: str
    signatory_title: str


class LetterheadOut(LetterheadIn):
    training_id: str
