"""mail_queue.dead_at: mail that failed its last attempt

Revision ID: c3a95f1e7b22
Revises: ead5d991af07
Create Date: 2026-11-30 19:40:00.000000
"""

from collections.abc import Sequence

from shared.migrations import add_dead_mail_v2, drop_dead_mail_v2

revision: str = "c3a95f1e7b22"
down_revision: str | None = "ead5d991af07"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_dead_mail_v2()


def downgrade() -> None:
    drop_dead_mail_v2()
