"""Storage of the evaluation service; table models never leave the service layer.

Anonymity is a property of these tables. `invitation` knows who was asked and
whether they answered; `response` and `answer` know what was answered and
nothing else: random keys, no time, no reference to an invitation or a person.
On SQLite both are WITHOUT ROWID tables, so not even the row order tells when a
response arrived.

Stepped release: a submission first lands in `pending_response`, and its
invitation is marked `responded` only. Once 3 are pending they are moved into
`response`/`answer` and their invitations marked `answered`, together, in one
transaction. Figures read `response`/`answer` and the who-answered list reads
`answered`, so both move only in steps of at least 3.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from shared.db import UTCDateTime


class Row(SQLModel, registry=registry()):
    """Base of this service's tables, with a metadata of its own."""


metadata = Row.metadata


class Copy(Row):
    """A table kept from another service's events: `revision` is the owner's, and the row
    only moves forward by it (shared/revisions.py), as events arrive in any order."""

    revision: int


class TrainingRow(Copy, table=True):
    """What evaluation knows of a training, from scheduling events, plus its own questions."""

    __tablename__ = "training"

    id: str = Field(primary_key=True, max_length=36)
    series: str = Field(max_length=80, index=True)
    series_title: str | None = Field(default=None, max_length=200)
    title: str = Field(max_length=200)
    host_country: str = Field(max_length=2)
    city: str = Field(max_length=200)
    starts_on: date
    ends_on: date
    timezone: str = Field(max_length=64)
    language: str = Field(default="en", max_length=16)
    status: str = Field(max_length=16)
    # Set by organisers through this service; fixed once the evaluation opens.
    objectives: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    extra_questions: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )


class TrainingOutcomeRow(Copy, table=True):
    """How a training ended (cancelled or completed), as scheduling announced it.

    Kept apart from the training because the event can arrive before the training's
    `published`: the outcome then waits here, and a completion opens the campaign
    once the training is known.
    """

    __tablename__ = "training_outcome"

    training_id: str = Field(primary_key=True, max_length=36)
    status: str = Field(max_length=16)


class SessionRow(Copy, table=True):
    """A session of a training, from scheduling events, for its rating question."""

    __tablename__ = "session"

    id: str = Field(primary_key=True, max_length=36)
    training_id: str = Field(index=True, max_length=36)
    title: str = Field(max_length=200)
    kind: str = Field(max_length=32)
    starts_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    status: str = Field(max_length=16)


class AttendeeRow(Copy, table=True):
    """A checked-in registration, from registration events: who may be invited."""

    __tablename__ = "attendee"

    registration_id: str = Field(primary_key=True, max_length=36)
    training_id: str = Field(index=True, max_length=36)
    participant_id: str = Field(index=True, max_length=36)
    name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    language: str = Field(default="en", max_length=16)
    checked_in: bool = True
    # The days attended (ISO dates), from the check-in events; None before attendance was
    # per day, when a check-in counted for the training's first day.
    days: list[str] | None = Field(default=None, sa_column=Column(JSON(none_as_null=True)))


class ErasedParticipantRow(Row, table=True):
    """A participant registration has erased: later or redelivered events about them are ignored."""

    __tablename__ = "erased_participant"

    participant_id: str = Field(primary_key=True, max_length=36)


class BankRow(Row, table=True):
    """A version of the core question bank after the built-in version 1; never changed."""

    __tablename__ = "question_bank"

    version: int = Field(primary_key=True)
    questions: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    follow_up: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    created_by: str = Field(max_length=200)


class CampaignRow(Row, table=True):
    """One questionnaire sent about one training: the evaluation, or the follow-up months later.

    `questions` is the questionnaire as it was when the campaign opened, so later
    edits of the bank, the sessions or the objectives never change its results.
    """

    __tablename__ = "campaign"
    __table_args__ = (UniqueConstraint("training_id", "stage"),)

    id: str = Field(primary_key=True, max_length=36)
    training_id: str = Field(index=True, max_length=36)
    stage: str = Field(max_length=16)
    bank_version: int
    questions: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    opened_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    closes_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    status: str = Field(default="open", max_length=16, index=True)
    revision: int = 1


class InvitationRow(Row, table=True):
    """Who was invited and whether they answered; never what they answered, nor when."""

    __tablename__ = "invitation"
    __table_args__ = (
        UniqueConstraint("campaign_id", "registration_id"),
        # Invited and answered per campaign, counted from the index alone.
        Index("ix_invitation_campaign_answered", "campaign_id", "answered"),
    )

    id: str = Field(primary_key=True, max_length=36)
    campaign_id: str = Field(foreign_key="campaign.id", max_length=36)
    registration_id: str | None = Field(default=None, max_length=36)
    participant_id: str | None = Field(default=None, max_length=36, index=True)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    # The attendee's language (from registration): the invitation's mails and page use it.
    language: str = Field(default="en", max_length=16)
    token_sha256: str = Field(max_length=64, unique=True)
    # The person has sent their answers: the link is used up, no more reminders.
    responded: bool = False
    # Counted as answered wherever staff look; set with a released batch, or at close.
    answered: bool = False
    # Personal until submitted: it lives here and is deleted on submission.
    draft: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON(none_as_null=True)))
    reminders_sent: int = 0
    invited_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    last_mailed_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    erased: bool = False


class ResponseRow(Row, table=True):
    """One submitted questionnaire: a random key, its campaign and bank version, nothing else."""

    __tablename__ = "response"
    __table_args__ = ({"sqlite_with_rowid": False},)

    id: str = Field(primary_key=True, max_length=36)
    campaign_id: str = Field(foreign_key="campaign.id", index=True, max_length=36)
    bank_version: int


class PendingResponseRow(Row, table=True):
    """A submitted questionnaire not yet released: held until 3 are pending in its campaign.

    `parts` are its answer rows as they will be stored on release. Nothing reads
    this table for figures; at close, a remainder of fewer than 3 is deleted.
    """

    __tablename__ = "pending_response"
    __table_args__ = ({"sqlite_with_rowid": False},)

    id: str = Field(primary_key=True, max_length=36)
    campaign_id: str = Field(foreign_key="campaign.id", index=True, max_length=36)
    bank_version: int
    parts: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))


class AnswerRow(Row, table=True):
    """One number, chosen option or text of a response, in the shape SQL aggregates.

    likert/nps: part "" and value; self-assessment: part "before"/"now" and value;
    single choice: part = the option; multiple choice: part "" with the number of options
    chosen, and one row per option; text: part "" and text.
    """

    __tablename__ = "answer"
    __table_args__ = (
        Index("ix_answer_question_campaign", "question_id", "campaign_id", "part", "value"),
        {"sqlite_with_rowid": False},
    )

    response_id: str = Field(foreign_key="response.id", primary_key=True, max_length=36)
    question_id: str = Field(primary_key=True, max_length=60)
    part: str = Field(primary_key=True, max_length=40)
    campaign_id: str = Field(max_length=36)
    value: int | None = None
    text: str | None = Field(default=None, sa_column=Column(Text))
