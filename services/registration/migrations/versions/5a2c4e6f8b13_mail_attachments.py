"""mail_queue.attachments: files sent with a mail (the confirmation's calendar)

Revision ID: 5a2c4e6f8b13
Revises: b5e8d1f3a7c4
Create Date: 2026-12-01 02:00:00.000000
"""

from collections.abc import Sequence

from shared.migrations import add_mail_attachments_column, drop_mail_attachments_column

revision: str = "5a2c4e6f8b13"
down_revision: str | None = "b5e8d1f3a7c4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_mail_attachments_column()


def downgrade() -> None:
    drop_mail_attachments_column()
