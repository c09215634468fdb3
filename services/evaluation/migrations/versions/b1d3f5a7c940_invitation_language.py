"""invitation_language: the attendee's language, for the invitation, reminders, follow-up

Revision ID: b1d3f5a7c940
Revises: 4c0e6a8b2d35
Create Date: 2026-12-01 01:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b1d3f5a7c940"
down_revision: str | None = "4c0e6a8b2d35"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("invitation") as batch:
        batch.add_column(
            sa.Column("language", sa.String(length=16), nullable=False, server_default="en")
        )


def downgrade() -> None:
    with op.batch_alter_table("invitation") as batch:
        batch.drop_column("language")
