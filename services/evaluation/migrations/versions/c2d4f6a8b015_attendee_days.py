"""attendee days: the days of the training each attendee was checked in on

Revision ID: c2d4f6a8b015
Revises: b1d3f5a7c940
Create Date: 2026-12-01 01:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c2d4f6a8b015"
down_revision: str | None = "b1d3f5a7c940"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("attendee", schema=None) as batch_op:
        batch_op.add_column(sa.Column("days", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attendee", schema=None) as batch_op:
        batch_op.drop_column("days")
