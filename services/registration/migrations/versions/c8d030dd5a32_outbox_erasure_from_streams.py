"""outbox erasure from streams

Revision ID: c8d030dd5a32
Revises: 50d74b981d92
Create Date: 2026-11-30 19:30:00.000000
"""

from collections.abc import Sequence

from shared.migrations import add_outbox_erasure_columns, drop_outbox_erasure_columns

revision: str = "c8d030dd5a32"
down_revision: str | None = "50d74b981d92"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_outbox_erasure_columns()


def downgrade() -> None:
    drop_outbox_erasure_columns()
