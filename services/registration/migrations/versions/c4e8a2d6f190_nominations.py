"""nominations: trainings by nomination, national focal points and their nominees

Revision ID: c4e8a2d6f190
Revises: f3b9d1e7a204
Create Date: 2026-12-01 01:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import shared.db

revision: str = "c4e8a2d6f190"
down_revision: str | None = "f3b9d1e7a204"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    with op.batch_alter_table("training") as batch:
        batch.add_column(
            sa.Column("by_nomination", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("nominations_close_at", shared.db.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "focal_point",
        sa.Column("id", _text(36), nullable=False),
        sa.Column("training_id", _text(36), nullable=False),
        sa.Column("country", _text(2), nullable=False),
        sa.Column("name", _text(200), nullable=False),
        sa.Column("email", _text(320), nullable=False),
        sa.Column("token_sha256", _text(64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("erased_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["training_id"], ["training.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("focal_point") as batch:
        batch.create_index("ix_focal_point_token", ["token_sha256"], unique=True)
        batch.create_index("ix_focal_point_training_id", ["training_id"], unique=False)
    op.create_table(
        "nomination",
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("id", _text(36), nullable=False),
        sa.Column("training_id", _text(36), nullable=False),
        sa.Column("country", _text(2), nullable=False),
        sa.Column("focal_point_id", _text(36), nullable=False),
        sa.Column("name", _text(200), nullable=False),
        sa.Column("email", _text(320), nullable=False),
        sa.Column("organisation", _text(200), nullable=False),
        sa.Column("position", _text(200), nullable=True),
        sa.Column("status", _text(16), nullable=False),
        sa.Column("token_sha256", _text(64), nullable=False),
        sa.Column("registration_id", _text(36), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("erased_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["focal_point_id"], ["focal_point.id"]),
        sa.ForeignKeyConstraint(["training_id"], ["training.id"]),
        sa.PrimaryKeyConstraint("number"),
        sa.UniqueConstraint("id"),
    )
    with op.batch_alter_table("nomination") as batch:
        batch.create_index(
            "ix_nomination_training_status", ["training_id", "status", "number"], unique=False
        )
        batch.create_index("ix_nomination_token", ["token_sha256"], unique=True)
        batch.create_index("ix_nomination_focal_point_id", ["focal_point_id"], unique=False)


def downgrade() -> None:
    op.drop_table("nomination")
    op.drop_table("focal_point")
    with op.batch_alter_table("training") as batch:
        batch.drop_column("nominations_close_at")
        batch.drop_column("by_nomination")
