"""Storage of the evaluation service; table models never leave the service layer."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from shared.db import UTCDateTime


class Table(SQLModel, registry=registry()):
    """Base of this service's tables, with a metadata of its own."""


metadata = Table.metadata


class TrainingRow(Table, table=True):
    """What evaluation knows of a training, from scheduling events."""

    __tablename__ = "training"

    id: str = Field(primary_key=True, max_length=36)
    revision: int
    series: str = Field(max_length=80, index=True)
    title: str = Field(max_length=200)
    host_country: str = Field(max_length=2)
    city: str = Field(max_length=200)
    starts_on: date
    ends_on: date
    timezone: str = Field(max_length=64)
    language: str = Field(default="en", max_length=16)
    status: str = Field(max_length=16)


class AttendeeRow(Table, table=True):
    """A checked-in registration, from registration events: who may be invited."""

    __tablename__ = "attendee"

    registration_id: str = Field(primary_key=True, max_length=36)
    training_id: str = Field(index=True, max_length=36)
    participant_id: str = Field(index=True, max_length=36)
    name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    language: str = Field(default="en", max_length=16)
    checked_in: bool = True
    revision: int


class CampaignRow(Table, table=True):
    __tablename__ = "campaign"

    id: str = Field(primary_key=True, max_length=36)
    training_id: str = Field(unique=True, max_length=36)
    opened_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    closes_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    status: str = Field(default="open", max_length=16)
    revision: int = 1


class InvitationRow(Table, table=True):
    """Who was invited and whether they answered; never what they answered."""

    __tablename__ = "invitation"
    __table_args__ = (UniqueConstraint("campaign_id", "registration_id"),)

    id: str = Field(primary_key=True, max_length=36)
    campaign_id: str = Field(foreign_key="campaign.id", index=True, max_length=36)
    registration_id: str = Field(max_length=36)
    participant_id: str | None = Field(default=None, max_length=36, index=True)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    token_sha256: str = Field(max_length=64, unique=True)
    answered: bool = False
    draft: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    reminders_sent: int = 0
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class ResponseRow(Table, table=True):
    """One submitted questionnaire. No identity and no time: it cannot be tied to an invitation."""

    __tablename__ = "response"

    id: str = Field(primary_key=True, max_length=36)
    campaign_id: str = Field(foreign_key="campaign.id", index=True, max_length=36)
    training_id: str = Field(index=True, max_length=36)
    questionnaire_version: int
    answers: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
