"""Request and response bodies of the scheduling API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec

from shared.events.contracts import SESSION_KINDS
from shared.inputs import LINE_PATTERN, Name, Title
from shared.inputs import FreeText as Text
from shared.inputs import Line as OptionalLine
from shared.training_sessions import SessionHead

Venue = Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=LINE_PATTERN)]
Timezone = Annotated[str, msgspec.Meta(max_length=64, pattern=LINE_PATTERN)]
Slug = Annotated[str, msgspec.Meta(min_length=1, max_length=80, pattern=r"^[a-z0-9][a-z0-9-]*$")]
CountryCode = Annotated[str, msgspec.Meta(min_length=2, max_length=2)]
Capacity = Annotated[int, msgspec.Meta(ge=1, le=10_000)]
# A BCP 47 language tag such as "en", "et" or "pt-BR"; it becomes the page's lang.
Language = Annotated[
    str, msgspec.Meta(min_length=2, max_length=16, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
]
# One of the session kinds of the event contract.
Kind = Annotated[str, msgspec.Meta(pattern=f"^({'|'.join(SESSION_KINDS)})$")]


class SpeakerIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    organisation: OptionalLine | None = None


class TrainingIn(msgspec.Struct, forbid_unknown_fields=True):
    series: Slug
    title: Title
    host_country: CountryCode
    venue: Venue
    starts_on: date
    ends_on: date
    capacity: Capacity
    city: Name | None = None
    timezone: Timezone | None = None
    registration_opens_at: datetime | None = None
    registration_closes_at: datetime | None = None
    moderated: bool = False
    language: Language = "en"
    description: Text | None = None
    by_nomination: bool = False
    nominations_close_at: datetime | None = None


class TrainingPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields sent change; `null` clears an optional field.

    New dates must keep every session within them, or the change is refused (409 listing
    the sessions outside). With `shift_sessions: true` every session moves along by as many
    days as `starts_on` moved, at the same wall-clock time."""

    title: Title | msgspec.UnsetType = msgspec.UNSET
    venue: Venue | msgspec.UnsetType = msgspec.UNSET
    city: Name | msgspec.UnsetType = msgspec.UNSET
    timezone: Timezone | msgspec.UnsetType = msgspec.UNSET
    starts_on: date | msgspec.UnsetType = msgspec.UNSET
    ends_on: date | msgspec.UnsetType = msgspec.UNSET
    capacity: Capacity | msgspec.UnsetType = msgspec.UNSET
    registration_opens_at: datetime | msgspec.UnsetType | None = msgspec.UNSET
    registration_closes_at: datetime | msgspec.UnsetType | None = msgspec.UNSET
    moderated: bool | msgspec.UnsetType = msgspec.UNSET
    language: Language | msgspec.UnsetType = msgspec.UNSET
    description: Text | msgspec.UnsetType | None = msgspec.UNSET
    by_nomination: bool | msgspec.UnsetType = msgspec.UNSET
    nominations_close_at: datetime | msgspec.UnsetType | None = msgspec.UNSET
    shift_sessions: bool = False


class SessionIn(msgspec.Struct, forbid_unknown_fields=True):
    title: Title
    kind: Kind
    starts_at: datetime
    ends_at: datetime
    room: Name | None = None
    speakers: Annotated[list[SpeakerIn], msgspec.Meta(max_length=50)] = []
    description: Text | None = None


class SessionPatch(msgspec.Struct, forbid_unknown_fields=True):
    title: Title | msgspec.UnsetType = msgspec.UNSET
    kind: Kind | msgspec.UnsetType = msgspec.UNSET
    starts_at: datetime | msgspec.UnsetType = msgspec.UNSET
    ends_at: datetime | msgspec.UnsetType = msgspec.UNSET
    room: Name | msgspec.UnsetType | None = msgspec.UNSET
    speakers: Annotated[list[SpeakerIn], msgspec.Meta(max_length=50)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    description: Text | msgspec.UnsetType | None = msgspec.UNSET


class CancelIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Text | None = None


class SeriesIn(msgspec.Struct, forbid_unknown_fields=True):
    title: Title


class PublishIn(msgspec.Struct, forbid_unknown_fields=True):
    """Publishing despite room or speaker clashes must be asked for explicitly."""

    override_conflicts: bool = False


class SpeakerOut(msgspec.Struct):
    name: str
    organisation: str | None = None


class SessionOut(SessionHead, frozen=True):
    room: str | None
    speakers: list[SpeakerOut]
    description: str | None
    status: str
    sequence: int
    revision: int


class TrainingOut(msgspec.Struct):
    id: str
    series: str
    title: str
    host_country: str
    city: str
    venue: str
    timezone: str
    starts_on: date
    ends_on: date
    capacity: int
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None
    moderated: bool
    language: str
    description: str | None
    status: str
    revision: int
    sessions: list[SessionOut]
    by_nomination: bool
    nominations_close_at: datetime | None
    calendar_url: str
    webcal_url: str
    page_url: str
    register_url: str


class SeriesOut(msgspec.Struct):
    slug: str
    title: str
    calendar_url: str
    webcal_url: str
    page_url: str


class ConflictSessionOut(msgspec.Struct):
    id: str
    training_id: str
    title: str
    starts_at: datetime
    ends_at: datetime


class ConflictOut(msgspec.Struct):
    """A warning; `blocking` ones (room, speaker) stop publication unless overridden."""

    kind: str
    blocking: bool
    message: str
    sessions: list[ConflictSessionOut]


class ChangeOut(msgspec.Struct):
    id: int
    what: str
    session_id: str | None
    before: dict[str, object] | None
    after: dict[str, object] | None
    who: str
    at: datetime


class SessionWritten(SessionOut, frozen=True):
    """A session just added or changed, with the conflicts it is now part of."""

    conflicts: list[ConflictOut] = []
