"""training_by_nomination: whether a training's seats go to nominees, and when nominations close

Revision ID: b9e3f1a7c245
Revises: 3b9d5f7a1c24
Create Date: 2026-12-01 01:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision: str = "b9e3f1a7c245"
down_revision: str | None = "3b9d5f7a1c24"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("training") as batch:
        batch.add_column(
            sa.Column("by_nomination", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("nominations_close_at", UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("training") as batch:
        batch.drop_column("nominations_close_at")
        batch.drop_column("by_nomination")
