"""stepped release: pending responses and the invitation's responded mark

Revision ID: b7e1c4a9d2f3
Revises: d8e2b6c4a031
Create Date: 2026-11-30 19:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "b7e1c4a9d2f3"
down_revision: str | None = "d8e2b6c4a031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pending_response",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("campaign_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("bank_version", sa.Integer(), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"]),
        sa.PrimaryKeyConstraint("id"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("pending_response", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pending_response_campaign_id"), ["campaign_id"], unique=False
        )
    # A plain ADD COLUMN (no table copy); answers stored before this were all released.
    op.add_column(
        "invitation",
        sa.Column("responded", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.execute("UPDATE invitation SET responded = answered")


def downgrade() -> None:
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_column("responded")
    with op.batch_alter_table("pending_response", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pending_response_campaign_id"))
    op.drop_table("pending_response")
