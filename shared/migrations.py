"""Alembic migrations per service, each with its own version table."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from shared.tables import infrastructure


def version_table(service: str) -> str:
    return f"alembic_version_{service}"


def alembic_config(service: str, url: str) -> Config:
    package = importlib.import_module(f"services.{service}")
    folder = Path(package.__file__ or "").parent / "migrations"
    config = Config()
    config.set_main_option("script_location", str(folder))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["service"] = service
    return config


def upgrade(service: str, url: str, revision: str = "head") -> None:
    """Bring `service`'s database to `revision` (blocking: use a thread in async code)."""
    command.upgrade(alembic_config(service, url), revision)


def target_metadata(service_metadata: MetaData) -> list[MetaData]:
    return [infrastructure, service_metadata]


def run_env(context: Any, service: str, service_metadata: MetaData) -> None:
    """The body of every service's env.py: online migrations over the async engine."""
    url = context.config.get_main_option("sqlalchemy.url")

    def migrate(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata(service_metadata),
            version_table=version_table(service),
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(migrate)
            await connection.commit()
        await engine.dispose()

    asyncio.run(run())


def revision(service: str, url: str, message: str) -> None:
    """Write a new migration for `service` by comparing its tables with a database at head."""
    command.revision(alembic_config(service, url), message=message, autogenerate=True)


if __name__ == "__main__":
    import sys

    # Developers: python -m shared.migrations <service> "<message>" (against a scratch SQLite).
    service_name, text = sys.argv[1], sys.argv[2]
    scratch = f"sqlite+aiosqlite:////tmp/capitals-migrations-{service_name}.sqlite3"
    upgrade(service_name, scratch)
    revision(service_name, scratch, text)


def create_infrastructure_v1() -> None:
    """The shared tables (outbox, inbox, dead letters, mail queue) as first released.

    Every service's first migration calls this instead of repeating the DDL; a later
    change to these tables needs a migration of its own in each service.
    """
    import sqlalchemy as sa
    from alembic import op

    from shared.db import UTCDateTime

    op.create_table(
        "dead_letter",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("consumer", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "inbox",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("handled_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_table(
        "mail_queue",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_until", UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index("ix_mail_queue_unsent", "mail_queue", ["sent_at", "id"], unique=False)
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_until", UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    op.create_index("ix_outbox_unpublished", "outbox", ["published_at", "id"], unique=False)


def drop_infrastructure_v1() -> None:
    from alembic import op

    op.drop_index("ix_outbox_unpublished", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("ix_mail_queue_unsent", table_name="mail_queue")
    op.drop_table("mail_queue")
    op.drop_table("inbox")
    op.drop_table("dead_letter")


def add_outbox_erasure_columns() -> None:
    """Outbox columns for erasure from the streams (docs/decisions/0006): the person an
    event's personal data belongs to, its stream sequence, and when the person was erased.

    Every service's migration calls this; the columns are nullable, so rows stay valid.
    """
    import sqlalchemy as sa
    from alembic import op

    from shared.db import UTCDateTime

    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("person", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("stream_seq", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("person_erased_at", UTCDateTime(timezone=True), nullable=True))
        batch.create_index("ix_outbox_person", ["person"], unique=False)
        batch.create_index("ix_outbox_person_erased", ["person_erased_at"], unique=False)


def drop_outbox_erasure_columns() -> None:
    from alembic import op

    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_person_erased")
        batch.drop_index("ix_outbox_person")
        batch.drop_column("person_erased_at")
        batch.drop_column("stream_seq")
        batch.drop_column("person")


def _add_column(table: str, column: Any) -> None:
    """A column more on one of the shared tables, in a batch (SQLite copies the table)."""
    from alembic import op

    with op.batch_alter_table(table) as batch:
        batch.add_column(column)


def _drop_column(table: str, name: str) -> None:
    from alembic import op

    with op.batch_alter_table(table) as batch:
        batch.drop_column(name)


def add_outbox_traceparent() -> None:
    """outbox.traceparent: the W3C trace context of the change that wrote the event, sent
    with it as a NATS header (shared.tracing; every service's migration calls this)."""
    import sqlalchemy as sa

    _add_column("outbox", sa.Column("traceparent", sa.String(length=64), nullable=True))


def drop_outbox_traceparent() -> None:
    _drop_column("outbox", "traceparent")


def add_dead_mail_column() -> None:
    """mail_queue.dead_at: a mail that failed its last attempt (every service's migration
    calls this)."""
    import sqlalchemy as sa

    from shared.db import UTCDateTime

    _add_column("mail_queue", sa.Column("dead_at", UTCDateTime(timezone=True), nullable=True))


def drop_dead_mail_column() -> None:
    _drop_column("mail_queue", "dead_at")


def add_mail_attachments_column() -> None:
    """mail_queue.attachments: files sent with a mail, as JSON (every service's migration
    calls this)."""
    import sqlalchemy as sa

    _add_column("mail_queue", sa.Column("attachments", sa.Text(), nullable=True))


def drop_mail_attachments_column() -> None:
    _drop_column("mail_queue", "attachments")


def create_staff_directory() -> None:
    """The staff directory every service checks sessions against (every service's
    migration calls this)."""
    import sqlalchemy as sa
    from alembic import op

    op.create_table(
        "staff_directory",
        sa.Column("email", sa.String(320), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, server_default=""),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("countries", sa.String(400), nullable=False, server_default=""),
        sa.Column("revoked", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("signed_out_at", sa.BigInteger(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
    )


def drop_staff_directory() -> None:
    from alembic import op

    op.drop_table("staff_directory")


def create_audit_log() -> None:
    """The audit log of staff actions (every service's migration calls this)."""
    import sqlalchemy as sa
    from alembic import op

    from shared.db import UTCDateTime

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("object_kind", sa.String(length=50), nullable=False),
        sa.Column("object_id", sa.String(length=320), nullable=False),
        sa.Column("training_id", sa.String(length=36), nullable=True),
        sa.Column("host_country", sa.String(length=2), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("person", sa.String(length=36), nullable=True),
        sa.Column("personal", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at", "id"], unique=False)
    op.create_index("ix_audit_log_actor", "audit_log", ["actor"], unique=False)
    op.create_index("ix_audit_log_action", "audit_log", ["action"], unique=False)
    op.create_index("ix_audit_log_object", "audit_log", ["object_id"], unique=False)
    op.create_index("ix_audit_log_training", "audit_log", ["training_id"], unique=False)
    op.create_index("ix_audit_log_person", "audit_log", ["person"], unique=False)


def drop_audit_log() -> None:
    from alembic import op

    for index in ("person", "training", "object", "action", "actor", "at"):
        op.drop_index(f"ix_audit_log_{index}", table_name="audit_log")
    op.drop_table("audit_log")


def create_rate_limit() -> None:
    """The rate limit's counts, shared by the instances of a service (shared.throttle);
    every service's migration calls this."""
    import sqlalchemy as sa
    from alembic import op

    op.create_table(
        "rate_limit",
        sa.Column("client", sa.String(64), primary_key=True),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
    )
    op.create_index("ix_rate_limit_window_start", "rate_limit", ["window_start"])


def drop_rate_limit() -> None:
    from alembic import op

    op.drop_index("ix_rate_limit_window_start", table_name="rate_limit")
    op.drop_table("rate_limit")
