"""Storage of the registration service; table models never leave the service layer."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from shared.db import UTCDateTime
from shared.tables import TrainingColumns


class Row(SQLModel, registry=registry()):
    """Base of this service's tables, with a metadata of its own."""


metadata = Row.metadata


class PersonColumns(SQLModel):
    """Who a person is, as they gave it: a registration and a nomination hold these columns
    and their own."""

    name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    organisation: str = Field(max_length=200)
    position: str | None = Field(default=None, max_length=200)


# A registration in one of these statuses holds or waits for a seat.
ACTIVE_SQL = "status IN ('confirmed', 'waitlisted', 'pending')"


class TrainingRow(Row, TrainingColumns, table=True):
    """The catalogue entry of a published training, learned from scheduling events."""

    __tablename__ = "training"

    id: str = Field(primary_key=True, max_length=36)
    revision: int
    series: str = Field(max_length=80)
    taken: int = 0  # confirmed seats; changed only under the training's row lock
    description: str | None = Field(default=None, sa_column=Column(Text))
    status: str = Field(max_length=16)
    completed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    cancelled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # The programme as scheduling last published it (its sessions, as in the event), for
    # the catalogue and the form, to tell participants what changed, and for the hours a
    # certificate of attendance states.
    sessions: list[dict[str, Any]] | None = Field(
        default=None, sa_column=Column(JSON(none_as_null=True))
    )


class TrainingOutcomeRow(Row, table=True):
    """How a training ended (cancelled or completed), as scheduling announced it.

    Kept apart from the catalogue entry because the event can arrive before the
    training's `published`: the outcome then waits here and holds when it does.
    """

    __tablename__ = "training_outcome"

    training_id: str = Field(primary_key=True, max_length=36)
    status: str = Field(max_length=16)
    revision: int
    occurred_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class ParticipantRow(Row, table=True):
    """One person, known by e-mail address; anonymised, not deleted, when erased."""

    __tablename__ = "participant"

    id: str = Field(primary_key=True, max_length=36)
    email: str = Field(max_length=320, unique=True)
    name: str = Field(max_length=200)
    feed_token_sha256: str = Field(max_length=64)
    feed_generation: int = 1  # bumped to revoke the calendar link
    revision: int = 1
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    erased_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class RegistrationRow(Row, PersonColumns, table=True):
    __tablename__ = "registration"
    __table_args__ = (
        Index("ix_registration_training_status", "training_id", "status", "arrival"),
        Index("ix_registration_manage", "manage_token_sha256", unique=True),
        Index("ux_registration_check_in_code", "check_in_code", unique=True),
        # The database, too, refuses a second active registration of one person for one
        # training, whichever instance or transaction tries it.
        Index(
            "ux_registration_active",
            "training_id",
            "participant_id",
            unique=True,
            sqlite_where=text(ACTIVE_SQL),
            postgresql_where=text(ACTIVE_SQL),
        ),
    )

    # Arrival order: the waitlist is first come, first served.
    arrival: int | None = Field(default=None, primary_key=True)
    id: str = Field(max_length=36, unique=True)
    training_id: str = Field(foreign_key="training.id", max_length=36)
    participant_id: str = Field(foreign_key="participant.id", index=True, max_length=36)
    country: str = Field(max_length=2)
    category: str = Field(max_length=16)
    # The language the person registered in: every mail about the registration uses it.
    language: str = Field(default="en", max_length=16)
    needs: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON(none_as_null=True)))
    consent_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    status: str = Field(max_length=16)
    waitlist_reason: str | None = Field(default=None, max_length=32)
    manage_token_sha256: str = Field(max_length=64)
    # Printed on the badge (as text and QR code) and typed or scanned at the door: not a
    # secret, it only names the registration to staff who may check it in.
    check_in_code: str | None = Field(default=None, max_length=16)
    checked_in_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # When the reminder a few days before the training was queued (at most once).
    reminded_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    revision: int = 1
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    erased_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class AttendanceRow(Row, table=True):
    """One day of its training a registration's participant attended (checked in)."""

    __tablename__ = "attendance"

    registration_id: str = Field(foreign_key="registration.id", primary_key=True, max_length=36)
    day: date = Field(primary_key=True)
    checked_in_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class CertificateRow(Row, table=True):
    """A certificate of attendance and its verification record, one per registration.

    The name it certifies is read from the registration when it is shown or printed, so a
    corrected name re-issues it under the same number; erasing the registration's personal
    data turns the record into "existed, erased".
    """

    __tablename__ = "certificate"

    registration_id: str = Field(foreign_key="registration.id", primary_key=True, max_length=36)
    number: str = Field(max_length=32, unique=True)
    training_id: str = Field(foreign_key="training.id", index=True, max_length=36)
    status: str = Field(max_length=16)  # valid, revoked, withdrawn or erased
    reason: str | None = Field(default=None, max_length=32)  # the revocation's category
    issued_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    erased_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    revision: int = 1


class QuotaRow(Row, table=True):
    """At most `maximum` confirmed seats for participants representing `country`."""

    __tablename__ = "quota"

    training_id: str = Field(foreign_key="training.id", primary_key=True, max_length=36)
    country: str = Field(primary_key=True, max_length=2)
    maximum: int


class ProgrammeChangeRow(Row, table=True):
    """Changes to a training's programme not yet mailed to its confirmed participants: one
    mail per burst, sent once `due_at` (the quiet period after the last change) has passed."""

    __tablename__ = "programme_change"

    training_id: str = Field(primary_key=True, max_length=36)
    changes: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    due_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class EvaluationCountRow(Row, table=True):
    """How many of a training's attendees evaluation invited and how many answered, as it
    last published them for one campaign (`stage`: "evaluation" or "follow_up"). Counts
    only: who answered never reaches registration."""

    __tablename__ = "evaluation_count"

    campaign_id: str = Field(primary_key=True, max_length=36)
    training_id: str = Field(max_length=36, index=True)
    stage: str = Field(max_length=16)
    invited: int
    answered: int
    revision: int


class LetterheadRow(Row, table=True):
    """Who invites on a training's visa letters: the host ministry's letterhead text and
    signatory, set by the training's staff."""

    __tablename__ = "letterhead"

    training_id: str = Field(foreign_key="training.id", primary_key=True, max_length=36)
    ministry: str = Field(sa_column=Column(Text, nullable=False))
    signatory_name: str = Field(max_length=200)
    signatory_title: str = Field(max_length=200)
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class VisaLetterRow(Row, table=True):
    """A participant's request for an invitation letter. The passport details are sealed
    (encrypted, see sealing.py); the row is deleted with the person and 30 days after the
    training ends."""

    __tablename__ = "visa_letter"

    registration_id: str = Field(foreign_key="registration.id", primary_key=True, max_length=36)
    training_id: str = Field(max_length=36, index=True)
    participant_id: str = Field(max_length=36, index=True)
    status: str = Field(max_length=16)
    sealed: str = Field(sa_column=Column(Text, nullable=False))
    revision: int = 1
    requested_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class FocalPointRow(Row, table=True):
    """A national focal point: who names the people of one country for a training by
    nomination. Their link's token is derived from the secret; only its hash is stored."""

    __tablename__ = "focal_point"
    __table_args__ = (Index("ix_focal_point_token", "token_sha256", unique=True),)

    id: str = Field(primary_key=True, max_length=36)
    training_id: str = Field(foreign_key="training.id", max_length=36, index=True)
    country: str = Field(max_length=2)
    name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    token_sha256: str = Field(max_length=64)
    revision: int = 1
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    erased_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class NominationRow(Row, PersonColumns, table=True):
    """A person a focal point nominated. `number` is the nomination order, across countries:
    waiting nominees are offered seats in it."""

    __tablename__ = "nomination"
    __table_args__ = (
        Index("ix_nomination_training_status", "training_id", "status", "number"),
        Index("ix_nomination_token", "token_sha256", unique=True),
    )

    number: int | None = Field(default=None, primary_key=True)
    id: str = Field(max_length=36, unique=True)
    training_id: str = Field(foreign_key="training.id", max_length=36)
    country: str = Field(max_length=2)
    focal_point_id: str = Field(foreign_key="focal_point.id", max_length=36, index=True)
    status: str = Field(max_length=16)
    token_sha256: str = Field(max_length=64)
    registration_id: str | None = Field(default=None, max_length=36)
    revision: int = 1
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    erased_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


training = TrainingRow.__table__  # type: ignore[attr-defined]
participant = ParticipantRow.__table__  # type: ignore[attr-defined]
registration = RegistrationRow.__table__  # type: ignore[attr-defined]
quota = QuotaRow.__table__  # type: ignore[attr-defined]
attendance = AttendanceRow.__table__  # type: ignore[attr-defined]
certificate = CertificateRow.__table__  # type: ignore[attr-defined]
