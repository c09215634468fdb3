"""Request and response bodies of nominations: focal points and the people they nominate."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import msgspec

from shared.inputs import CountryCode, Email, Name, email_address
from shared.inputs import Line as OptionalText


class EmailChecked(msgspec.Struct, forbid_unknown_fields=True):
    """A request body with an `email` field, the address checked and normalised: refused
    here (422 naming `email`) before anything is stored or mailed."""

    if TYPE_CHECKING:
        email: str  # each body declares it where its fields have it

    def __post_init__(self) -> None:
        self.email = email_address(self.email)


class FocalPointIn(EmailChecked):
    country: CountryCode
    name: Name
    email: Email


class FocalPointOut(msgspec.Struct):
    id: str
    training_id: str
    country: str
    name: str
    email: str
    created_at: datetime


class PersonIn(EmailChecked):
    """Who a person is, as they give it registering or as a focal point nominates them."""

    name: Name
    email: Email
    organisation: Name


class NominationIn(PersonIn):
    position: OptionalText | None = None


class NominationOut(msgspec.Struct):
    """`number` is the nomination order across countries; `status` one of `offered`,
    `waiting`, `registered`, `withdrawn`."""

    id: str
    training_id: str
    country: str
    number: int
    name: str
    email: str
    organisation: str
    position: str | None
    status: str
    registration_id: str | None
    created_at: datetime


class CountryNominations(msgspec.Struct):
    """What a focal point sees: their country's quota (None: no limit of its own), how many
    places it holds, when nominations close, and its nominations in order."""

    training_id: str
    country: str
    quota: int | None
    holding: int
    closes_at: datetime
    open: bool
    items: list[NominationOut]
