"""Storage of the scheduling service; table models never leave the service layer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from shared.db import UTCDateTime
from shared.tables import TrainingColumns


class Row(SQLModel, registry=registry()):
    """Base of this service's tables, with a metadata of its own."""


metadata = Row.metadata


class SeriesRow(Row, table=True):
    __tablename__ = "series"

    slug: str = Field(primary_key=True, max_length=80)
    title: str = Field(max_length=200)
    # Rises with every change, so a cached series feed knows its name is stale.
    revision: int = 1
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class TrainingRow(Row, TrainingColumns, table=True):
    __tablename__ = "training"
    __table_args__ = (Index("ix_training_series_starts", "series", "starts_on"),)

    id: str = Field(primary_key=True, max_length=36)
    series: str = Field(foreign_key="series.slug", max_length=80)
    description: str | None = Field(default=None, max_length=5000)
    status: str = Field(default="draft", max_length=16)
    revision: int = 1
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    # Rises with every change to the training or any of its sessions, so a cached
    # feed is known to be current from this row alone.
    feed_revision: int = 1
    # When a field every session's calendar event repeats (title, venue, city,
    # description, zone) last changed: an event's DTSTAMP is the later of this
    # and the session's own revision time.
    feed_revised_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class SessionRow(Row, table=True):
    __tablename__ = "session"
    __table_args__ = (
        Index("ix_session_training_starts", "training_id", "starts_at"),
        # Conflicts across trainings look up sessions by time.
        Index("ix_session_starts_at", "starts_at"),
    )

    id: str = Field(primary_key=True, max_length=36)
    training_id: str = Field(foreign_key="training.id", max_length=36)
    title: str = Field(max_length=200)
    kind: str = Field(max_length=20)
    starts_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    ends_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    room: str | None = Field(default=None, max_length=200)
    speakers: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    description: str | None = Field(default=None, max_length=5000)
    status: str = Field(default="scheduled", max_length=16)
    # RFC 5546 SEQUENCE: rises when start, end or status changes, never falls.
    sequence: int = 0
    revision: int = 1
    revised_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class ChangeRow(Row, table=True):
    """One change to a published training: what, before and after, who, when."""

    __tablename__ = "change"

    id: int | None = Field(default=None, primary_key=True)
    training_id: str = Field(foreign_key="training.id", index=True, max_length=36)
    session_id: str | None = Field(default=None, max_length=36)
    what: str = Field(max_length=100)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    who: str = Field(max_length=200)
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class EnrolmentRow(Row, table=True):
    """Which participant holds which registration status for a training (from registration)."""

    __tablename__ = "enrolment"
    __table_args__ = (Index("ix_enrolment_participant", "participant_id", "training_id"),)

    registration_id: str = Field(primary_key=True, max_length=36)
    training_id: str = Field(max_length=36, index=True)
    participant_id: str = Field(max_length=36)
    status: str = Field(max_length=16)
    revision: int


class CalendarEntryRow(Row, table=True):
    """A training as it appears in one participant's personal feed.

    Created when the participant is first confirmed for the training, and kept
    when they stop being confirmed, so that their subscribed calendar is told
    the sessions are cancelled instead of seeing them vanish. `offset` counts
    every change between listed and not listed and is added to each session's
    SEQUENCE in this feed, so SEQUENCE rises with each such change.
    """

    __tablename__ = "calendar_entry"

    participant_id: str = Field(primary_key=True, max_length=36)
    training_id: str = Field(primary_key=True, max_length=36)
    listed: bool = True
    offset: int = 0
    changed_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class FeedTokenRow(Row, table=True):
    """The hash of a participant's current personal calendar token."""

    __tablename__ = "feed_token"
    __table_args__ = (UniqueConstraint("token_sha256", name="uq_feed_token_hash"),)

    participant_id: str = Field(primary_key=True, max_length=36)
    token_sha256: str = Field(max_length=64)
    revision: int


class ErasedParticipantRow(Row, table=True):
    """A participant registration has erased: later or redelivered events about them are ignored."""

    __tablename__ = "erased_participant"

    participant_id: str = Field(primary_key=True, max_length=36)
    erased_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class StaffMemberRow(Row, table=True):
    """The staff directory as scheduling owns it; every change is announced
    (scheduling.staff.changed) and kept in each service's shared `staff_directory`."""

    __tablename__ = "staff_member"

    email: str = Field(primary_key=True, max_length=320)
    name: str = Field(default="", max_length=200)
    role: str = Field(max_length=20)
    countries: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    revoked: bool = False
    signed_out_at: int | None = Field(default=None, sa_column=Column(BigInteger))
    revision: int = 1


class SignInLinkRow(Row, table=True):
    """A single-use sign-in link; only the SHA-256 of its token is kept."""

    __tablename__ = "sign_in_link"

    token_sha256: str = Field(primary_key=True, max_length=64)
    email: str = Field(max_length=320, index=True)
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
