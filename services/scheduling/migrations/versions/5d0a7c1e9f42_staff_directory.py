"""staff_member, sign_in_link and staff_directory: staff accounts and sign-in links

Revision ID: 5d0a7c1e9f42
Revises: c3a95f1e7b22
Create Date: 2026-11-30 21:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime
from shared.migrations import create_staff_directory, drop_staff_directory

revision: str = "5d0a7c1e9f42"
down_revision: str | None = "c3a95f1e7b22"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_staff_directory()
    op.create_table(
        "staff_member",
        sa.Column("email", sa.String(320), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("countries", sa.JSON(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("signed_out_at", sa.BigInteger(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
    )
    op.create_table(
        "sign_in_link",
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_sign_in_link_email", "sign_in_link", ["email"])


def downgrade() -> None:
    op.drop_index("ix_sign_in_link_email", table_name="sign_in_link")
    op.drop_table("sign_in_link")
    op.drop_table("staff_member")
    drop_staff_directory()
