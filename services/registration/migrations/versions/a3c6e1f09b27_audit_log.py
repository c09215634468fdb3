"""audit_log: every staff action, who, what, when and on which object

Revision ID: a3c6e1f09b27
Revises: 6e1b8d2f0a53
Create Date: 2026-11-30 22:20:00.000000
"""

from collections.abc import Sequence

from shared.migrations import create_audit_log, drop_audit_log

revision: str = "a3c6e1f09b27"
down_revision: str | None = "6e1b8d2f0a53"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_audit_log()


def downgrade() -> None:
    drop_audit_log()
