"""mail_queue.attachments: files sent with a mail (a calendar)

Revision ID: 4c0e6a8b2d35
Revises: a9c1e5f7d324
Create Date: 2026-12-01 02:00:00.000000
"""

from collections.abc import Sequence

from shared.migrations import add_mail_attachments_column, drop_mail_attachments_column

revision: str = "4c0e6a8b2d35"
down_revision: str | None = "a9c1e5f7d324"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_mail_attachments_column()


def downgrade() -> None:
    drop_mail_attachments_column()
