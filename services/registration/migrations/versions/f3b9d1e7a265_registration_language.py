"""registration_language: the language a person registered in, for every later mail

Revision ID: f3b9d1e7a265
Revises: e1a7c3f5b902
Create Date: 2026-12-01 01:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f3b9d1e7a265"
down_revision: str | None = "e1a7c3f5b902"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Registrations made before languages were kept were all written to in English.
    with op.batch_alter_table("registration") as batch:
        batch.add_column(
            sa.Column("language", sa.String(length=16), nullable=False, server_default="en")
        )


def downgrade() -> None:
    with op.batch_alter_table("registration") as batch:
        batch.drop_column("language")
