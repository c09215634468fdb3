"""outbox erasure from streams

Revision ID: d1152a7b6099
Revises: ead5d991af07
Create Date: 2026-11-30 19:30:00.000000
"""

from collections.abc import Sequence

from shared.migrations import add_outbox_erasure_columns, drop_outbox_erasure_columns

revision: str = "d1152a7b6099"
down_revision: str | None = "ead5d991af07"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_outbox_erasure_columns()


def downgrade() -> None:
    drop_outbox_erasure_columns()
