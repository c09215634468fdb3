"""mail_queue.attachments: files sent with a mail (a calendar)

Revision ID: 3b9d5f7a1c24
Revises: f2b8d4a6c013
Create Date: 2026-12-01 02:00:00.000000
"""

from collections.abc import Sequence

from shared.migrations import add_mail_attachments_column, drop_mail_attachments_column

revision: str = "3b9d5f7a1c24"
down_revision: str | None = "f2b8d4a6c013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_mail_attachments_column()


def downgrade() -> None:
    drop_mail_attachments_column()
