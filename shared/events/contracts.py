"""Every event the services exchange, by producer. Subjects are `<producer>.<aggregate>.<event>`."""

from __future__ import annotations

from datetime import date, datetime

import msgspec

from shared.events import Payload, by_status, register


class Speaker(msgspec.Struct, kw_only=True):
    name: str
    organisation: str | None = None


# --- scheduling -------------------------------------------------------------

# What a session is, as `SessionData.kind` names it: part of the contract, since the
# evaluation service asks different questions of teaching and of other sessions.
SESSION_KINDS = (
    "lecture",
    "workshop",
    "panel",
    "case_study",
    "exhibition",
    "networking",
    "break",
)


class SessionData(Payload, kw_only=True):
    """A session of a training; times are offset-aware in the training's zone."""

    training_id: str
    title: str
    kind: str
    starts_at: datetime
    ends_at: datetime
    room: str | None = None
    speakers: list[Speaker] = []
    status: str = "scheduled"
    sequence: int = 0
    description: str | None = None


class TrainingData(Payload, kw_only=True):
    """The whole training as published, with its sessions."""

    series: str
    series_title: str | None = None
    title: str
    host_country: str
    city: str
    venue: str
    timezone: str
    starts_on: date
    ends_on: date
    capacity: int
    registration_opens_at: datetime | None = None
    registration_closes_at: datetime | None = None
    moderated: bool = False
    language: str = "en"
    description: str | None = None
    status: str = "published"
    by_nomination: bool = False
    nominations_close_at: datetime | None = None
    sessions: list[SessionData] = []


class TrainingPublished(TrainingData, kw_only=True):
    subject = "scheduling.training.published"


class TrainingUpdated(TrainingData, kw_only=True):
    subject = "scheduling.training.updated"


class TrainingCancelled(Payload, kw_only=True):
    subject = "scheduling.training.cancelled"
    reason: str | None = None


class TrainingCompleted(Payload, kw_only=True):
    subject = "scheduling.training.completed"


class StaffChanged(Payload, kw_only=True):
    """`id` is the staff member's e-mail (the `sub` of their tokens). Every service keeps
    the latest in its staff directory and refuses or narrows tokens by it."""

    subject = "scheduling.staff.changed"
    email: str
    role: str = "organiser"
    countries: list[str] = []
    revoked: bool = False
    # Tokens issued at or before this moment (seconds since the epoch) are void.
    signed_out_at: int | None = None
    name: str = ""


# --- registration -----------------------------------------------------------


class StatusData(Payload, kw_only=True):
    """Ids and a new status, for what registration holds of one participant in a training."""

    training_id: str
    participant_id: str
    status: str


class RegistrationData(StatusData, kw_only=True):
    """A registration's new status; `id` is the registration id."""

    waitlist_position: int | None = None


class RegistrationCheckedIn(RegistrationData, kw_only=True):
    """Carries what the evaluation invitation needs: the attendee's name, e-mail, language.

    Attendance is per day: `day` is the day checked in, `days_attended` every day the
    registration counts after this change (empty in events older than per-day check-in)."""

    subject = "registration.registration.checked_in"
    name: str
    email: str
    language: str = "en"
    day: date | None = None
    days_attended: list[date] = []


class RegistrationUpdated(RegistrationData, kw_only=True):
    """The participant corrected their details: what other services hold of the person (for
    evaluation: the name, e-mail and language its invitations use), after the change."""

    subject = "registration.registration.updated"
    name: str
    email: str
    language: str = "en"


class RegistrationCheckInUndone(Payload, kw_only=True):
    """One day's check-in undone. While `days_attended` still lists a day the person
    attended; it then carries the person's name, e-mail and language as the check-in did."""

    subject = "registration.registration.check_in_undone"
    training_id: str
    participant_id: str
    day: date | None = None
    days_attended: list[date] = []
    name: str = ""
    email: str = ""
    language: str = "en"


class CertificateData(StatusData, kw_only=True):
    """A certificate of attendance; `id` is its registration's id. Ids only: the number,
    name and reason stay in registration."""


class CertificateIssued(CertificateData, kw_only=True):
    """Issued after completion to someone who attended every day (or issued again after a
    correction of attendance)."""

    subject = "registration.certificate.issued"


class CertificateRevoked(CertificateData, kw_only=True):
    """Revoked by the secretariat; `reason` is the reason's category."""

    subject = "registration.certificate.revoked"
    reason: str


class CertificateWithdrawn(CertificateData, kw_only=True):
    """Withdrawn because corrected attendance no longer covers every day."""

    subject = "registration.certificate.withdrawn"


class LetterData(StatusData, kw_only=True):
    """A visa invitation letter's new status; `id` is the registration id. Ids only: the
    passport details never travel."""


class ParticipantFeedTokenSet(Payload, kw_only=True):
    """`id` is the participant id; only the SHA-256 of the token travels."""

    subject = "registration.participant.feed_token_set"
    feed_token_sha256: str


class ParticipantErased(Payload, kw_only=True):
    subject = "registration.participant.erased"


class NominationData(Payload, kw_only=True):
    """A nomination's new state (`offered`, `waiting`, `registered`, `withdrawn`); ids only:
    who was nominated stays in registration."""

    training_id: str
    country: str
    status: str
    registration_id: str | None = None


class FocalPointNamed(Payload, kw_only=True):
    """`id` is the focal point's id; who they are stays in registration."""

    subject = "registration.focal_point.named"
    training_id: str
    country: str


# --- evaluation -------------------------------------------------------------


class CampaignCounts(Payload, kw_only=True):
    """How many an evaluation campaign invited and how many answered; `id` is the campaign."""

    training_id: str
    invited: int
    answered: int
    # "evaluation" right after the training, "follow_up" months later.
    stage: str = "evaluation"


class ResponseSubmitted(CampaignCounts, kw_only=True):
    """`id` is the campaign id; counts only, never who answered."""

    subject = "evaluation.response.submitted"


class CampaignClosed(CampaignCounts, kw_only=True):
    subject = "evaluation.campaign.closed"


# --- one event per status ----------------------------------------------------
# Events that differ in subject alone, in the order of `by_status`'s statuses.

SESSION_EVENTS = by_status(
    SessionData, "scheduling.session", ("scheduled", "updated", "cancelled"), __name__
)
REGISTRATION_STATUS_EVENTS = by_status(
    RegistrationData,
    "registration.registration",
    ("confirmed", "waitlisted", "pending", "declined", "cancelled"),
    __name__,
)
LETTER_STATUS_EVENTS = by_status(
    LetterData, "registration.letter", ("requested", "approved", "declined"), __name__
)
NOMINATION_EVENTS = by_status(
    NominationData,
    "registration.nomination",
    ("offered", "waiting", "registered", "withdrawn"),
    __name__,
)

SessionScheduled, SessionUpdated, SessionCancelled = SESSION_EVENTS.values()
(
    RegistrationConfirmed,
    RegistrationWaitlisted,
    RegistrationPending,
    RegistrationDeclined,
    RegistrationCancelled,
) = REGISTRATION_STATUS_EVENTS.values()
LetterRequested, LetterApproved, LetterDeclined = LETTER_STATUS_EVENTS.values()
NominationOffered, NominationWaiting, NominationRegistered, NominationWithdrawn = (
    NOMINATION_EVENTS.values()
)

register(
    TrainingPublished,
    TrainingUpdated,
    TrainingCancelled,
    TrainingCompleted,
    SessionScheduled,
    SessionUpdated,
    SessionCancelled,
    StaffChanged,
    RegistrationConfirmed,
    RegistrationWaitlisted,
    RegistrationPending,
    RegistrationDeclined,
    RegistrationCancelled,
    RegistrationCheckedIn,
    RegistrationUpdated,
    RegistrationCheckInUndone,
    LetterRequested,
    LetterApproved,
    LetterDeclined,
    CertificateIssued,
    CertificateRevoked,
    CertificateWithdrawn,
    ParticipantFeedTokenSet,
    ParticipantErased,
    NominationOffered,
    NominationWaiting,
    NominationRegistered,
    NominationWithdrawn,
    FocalPointNamed,
    ResponseSubmitted,
    CampaignClosed,
)
