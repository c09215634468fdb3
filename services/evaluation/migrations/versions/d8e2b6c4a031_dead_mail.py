"""mail_queue.dead_at: mail that failed its last attempt

Revision ID: d8e2b6c4a031
Revises: 5860cc8891f5
Create Date: 2026-11-30 19:40:00.000000
"""

from collections.abc import Sequence

from shared.migrations import add_dead_mail_column, drop_dead_mail_column

revision: str = "d8e2b6c4a031"
down_revision: str | None = "5860cc8891f5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_dead_mail_column()


def downgrade() -> None:
    drop_dead_mail_column()
