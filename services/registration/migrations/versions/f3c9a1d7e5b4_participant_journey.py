"""participant journey: the registration's language, reminders and programme changes

Revision ID: f3c9a1d7e5b4
Revises: e1a7c3f5b902
Create Date: 2026-12-01 01:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import shared.db

revision: str = "f3c9a1d7e5b4"
down_revision: str | None = "e1a7c3f5b902"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "language",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                nullable=False,
                server_default="en",
            )
        )
        batch_op.add_column(
            sa.Column("reminded_at", shared.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("training", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sessions", sa.JSON(none_as_null=True), nullable=True))
    op.create_table(
        "programme_change",
        sa.Column("training_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("due_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("training_id"),
    )


def downgrade() -> None:
    op.drop_table("programme_change")
    with op.batch_alter_table("training", schema=None) as batch_op:
        batch_op.drop_column("sessions")
    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.drop_column("reminded_at")
        batch_op.drop_column("language")
