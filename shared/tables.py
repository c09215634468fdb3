"""Tables every service's database has: outbox, inbox, dead letters, the mail queue, the
staff directory, the audit log and the rate limit's counts; and the columns a training has
wherever it is stored."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)
from sqlmodel import Field, SQLModel

from shared.db import UTCDateTime

infrastructure = MetaData()


def serial_id() -> Column[int]:
    """A row's number, counted by the database."""
    return Column("id", Integer, primary_key=True, autoincrement=True)


def leased() -> tuple[Column[object], ...]:
    """What a queue that instances take rows of on lease has (shared.leases): until when a
    row is taken, and how often handling it failed, with the last failure."""
    return (
        Column("claimed_until", UTCDateTime),
        Column("attempts", Integer, nullable=False, server_default="0"),
        Column("last_error", Text),
    )


outbox = Table(
    "outbox",
    infrastructure,
    serial_id(),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("subject", String(200), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("published_at", UTCDateTime),
    *leased(),
    # Erasure from the streams: the participant whose personal data the event carries,
    # where the broker stored it, and when that person was erased (the relay then deletes
    # the stored message). See docs/decisions/0006-erasure-from-streams.md.
    Column("person", String(36), index=True),
    Column("stream_seq", BigInteger),
    Column("person_erased_at", UTCDateTime),
    # The W3C trace context of the change that wrote the event (shared.tracing); none
    # when tracing is off.
    Column("traceparent", String(64)),
    Index("ix_outbox_unpublished", "published_at", "id"),
    Index("ix_outbox_person_erased", "person_erased_at"),
)

inbox = Table(
    "inbox",
    infrastructure,
    Column("event_id", String(36), primary_key=True),
    Column("subject", String(200), nullable=False),
    Column("handled_at", UTCDateTime, nullable=False),
)

dead_letter = Table(
    "dead_letter",
    infrastructure,
    serial_id(),
    Column("consumer", String(200), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("event_id", String(36)),
    Column("body", LargeBinary, nullable=False),
    Column("error", Text, nullable=False),
    Column("deliveries", Integer, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
)

mail_queue = Table(
    "mail_queue",
    infrastructure,
    serial_id(),
    Column("message_id", String(200), nullable=False, unique=True),
    Column("recipient", String(320), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("body_text", Text, nullable=False),
    Column("body_html", Text),
    # JSON: [{filename, media_type, content}] (shared.mail.Attachment), or null.
    Column("attachments", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    *leased(),
    # Set when the mail has failed its last attempt: never tried again, shown to the
    # secretariat (GET /mail/dead) with its last_error.
    Column("dead_at", UTCDateTime),
    Index("ix_mail_queue_unsent", "sent_at", "id"),
)

# Who the staff are now, as scheduling last announced it (scheduling.staff.changed):
# shared.staff_directory checks every staff token and session against it.
staff_directory = Table(
    "staff_directory",
    infrastructure,
    Column("email", String(320), primary_key=True),
    Column("name", String(200), nullable=False, server_default=""),
    Column("role", String(20), nullable=False),
    # Upper-case codes joined by commas; empty for the secretariat.
    Column("countries", String(400), nullable=False, server_default=""),
    Column("revoked", Boolean, nullable=False, default=False),
    # Tokens issued at or before this moment (seconds since the epoch) no longer count:
    # "sign out everywhere".
    Column("signed_out_at", BigInteger),
    Column("revision", Integer, nullable=False),
)

# What staff did on this service (shared.audit): who, what, when, on which object. `detail`
# holds no participant's personal data; what an action carried of it (an organiser's words
# to one participant) is kept in `personal`, emptied when that participant is erased.
audit_log = Table(
    "audit_log",
    infrastructure,
    serial_id(),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(320), nullable=False, index=True),
    Column("role", String(20), nullable=False),
    Column("action", String(100), nullable=False, index=True),
    Column("object_kind", String(50), nullable=False),
    Column("object_id", String(320), nullable=False),
    Column("training_id", String(36)),
    Column("host_country", String(2)),
    # JSON objects.
    Column("detail", Text, nullable=False),
    Column("person", String(36), index=True),
    Column("personal", Text),
    Index("ix_audit_log_at", "at", "id"),
    Index("ix_audit_log_object", "object_id"),
    Index("ix_audit_log_training", "training_id"),
)


# Public write routes' rate limit (shared.throttle), shared by every instance of the service:
# one row per client, counting the requests of the window that began with its first one.
# The client is a keyed hash of its address, not the address; rows outlive their window by
# a minute at most.
rate_limit = Table(
    "rate_limit",
    infrastructure,
    Column("client", String(64), primary_key=True),
    # Milliseconds since the epoch.
    Column("window_start", BigInteger, nullable=False, index=True),
    Column("hits", Integer, nullable=False),
)


class TrainingColumns(SQLModel):
    """What a training is, as scheduling keeps it and registration's catalogue mirrors it
    from the events: each service's `training` table has these columns and its own."""

    title: str = Field(max_length=200)
    host_country: str = Field(max_length=2, index=True)
    city: str = Field(max_length=200)
    venue: str = Field(max_length=500)
    timezone: str = Field(max_length=64)
    starts_on: date
    ends_on: date
    capacity: int
    registration_opens_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    registration_closes_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    moderated: bool = False
    language: str = Field(default="en", max_length=16)
    # Seats go to people named by national focal points, not to the public form.
    by_nomination: bool = False
    # When countries' unused quotas go to other countries' waiting nominees; None: when
    # registration closes.
    nominations_close_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
