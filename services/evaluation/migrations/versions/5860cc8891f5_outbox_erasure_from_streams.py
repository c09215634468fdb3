"""outbox erasure from streams

Revision ID: 5860cc8891f5
Revises: 0129de360027
Create Date: 2026-11-30 19:30:00.000000
"""

from collections.abc import Sequence

from shared.migrations import add_outbox_erasure_columns, drop_outbox_erasure_columns

revision: str = "5860cc8891f5"
down_revision: str | None = "0129de360027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_outbox_erasure_columns()


def downgrade() -> None:
    drop_outbox_erasure_columns()
