"""mail_queue.dead_at: mail that failed its last attempt

Revision ID: b7d41e2a9c10
Revises: c8d030dd5a32
Create Date: 2026-11-30 19:40:00.000000
"""

from collections.abc import Sequence

from shared.migrations import add_dead_mail_column, drop_dead_mail_column

revision: str = "b7d41e2a9c10"
down_revision: str | None = "c8d030dd5a32"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_dead_mail_column()


def downgrade() -> None:
    drop_dead_mail_column()
