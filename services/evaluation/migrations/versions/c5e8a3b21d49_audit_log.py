"""audit_log: every staff action, who, what, when and on which object

Revision ID: c5e8a3b21d49
Revises: 7f2c9e3a1b64
Create Date: 2026-11-30 22:20:00.000000
"""

from collections.abc import Sequence

from shared.migrations import create_audit_log, drop_audit_log

revision: str = "c5e8a3b21d49"
down_revision: str | None = "7f2c9e3a1b64"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_audit_log()


def downgrade() -> None:
    drop_audit_log()
