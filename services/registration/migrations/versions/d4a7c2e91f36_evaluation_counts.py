"""evaluation counts per campaign, for the series statistics

Revision ID: d4a7c2e91f36
Revises: a3c6e1f09b27
Create Date: 2026-11-30 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "d4a7c2e91f36"
down_revision: str | None = "a3c6e1f09b27"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evaluation_count",
        sa.Column("campaign_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("training_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("invited", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id"),
    )
    with op.batch_alter_table("evaluation_count", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_evaluation_count_training_id"), ["training_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("evaluation_count", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evaluation_count_training_id"))
    op.drop_table("evaluation_count")
