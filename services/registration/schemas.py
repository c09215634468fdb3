"""Request and response bodies of the registration API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Email = Annotated[
    str, msgspec.Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]


class Needs(msgspec.Struct, forbid_unknown_fields=True):
    access: Annotated[str, msgspec.Meta(max_length=1000)] | None = None
    diet: Annotated[str, msgspec.Meta(max_length=1000)] | None = None


class RegistrationIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    email: Email
    organisation: Name
    country: Annotated[str, msgspec.Meta(min_length=2, max_length=2)]
    consent: bool
    position: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    needs: Needs | None = None


class RegistrationOut(msgspec.Struct):
    id: str
    training_id: str
    participant_id: str
    status: str
    name: str
    email: str
    organisation: str
    position: str | None
    country: str
    category: str
    needs: Needs | None
    waitlist_position: int | None
    waitlist_reason: str | None
    checked_in: bool
    created_at: datetime


class RegisteredOut(RegistrationOut):
    """Only the answer to registering carries the secrets: shown once, stored hashed."""

    manage_token: str = ""
    manage_url: str = ""
    calendar_url: str = ""


class CatalogueEntry(msgspec.Struct):
    id: str
    title: str
    host_country: str
    city: str
    venue: str
    starts_on: date
    ends_on: date
    timezone: str
    seats_left: int
    registration_open: bool
    moderated: bool
    status: str


class EmailIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
