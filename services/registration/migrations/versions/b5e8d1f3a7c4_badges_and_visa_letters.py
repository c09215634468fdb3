"""badges and visa letters: a check-in code on every registration (existing ones get
theirs here), the trainings' letterheads, the letters' sealed requests

Revision ID: b5e8d1f3a7c4
Revises: f3c9a1d7e5b4
Create Date: 2026-12-01 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from services.registration.domain import new_check_in_code
from shared.db import UTCDateTime

revision: str = "b5e8d1f3a7c4"
down_revision: str | None = "f3c9a1d7e5b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("check_in_code", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
    connection = op.get_bind()
    registration = sa.table("registration", sa.column("id"), sa.column("check_in_code"))
    ids = [row[0] for row in connection.execute(sa.select(registration.c.id))]
    codes: set[str] = set()
    for registration_id in ids:
        code = new_check_in_code()
        while code in codes:
            code = new_check_in_code()
        codes.add(code)
        connection.execute(
            registration.update()
            .where(registration.c.id == registration_id)
            .values(check_in_code=code)
        )
    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.create_index("ux_registration_check_in_code", ["check_in_code"], unique=True)
    op.create_table(
        "letterhead",
        sa.Column("training_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("ministry", sa.Text(), nullable=False),
        sa.Column("signatory_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("signatory_title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["training_id"], ["training.id"]),
        sa.PrimaryKeyConstraint("training_id"),
    )
    op.create_table(
        "visa_letter",
        sa.Column("registration_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("training_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("participant_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("requested_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["registration_id"], ["registration.id"]),
        sa.PrimaryKeyConstraint("registration_id"),
    )
    with op.batch_alter_table("visa_letter", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_visa_letter_training_id"), ["training_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_visa_letter_participant_id"), ["participant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("visa_letter", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visa_letter_participant_id"))
        batch_op.drop_index(batch_op.f("ix_visa_letter_training_id"))
    op.drop_table("visa_letter")
    op.drop_table("letterhead")
    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.drop_index("ux_registration_check_in_code")
        batch_op.drop_column("check_in_code")
