"""audit_log: every staff action, who, what, when and on which object

Revision ID: b4d7f2a10c38
Revises: 5d0a7c1e9f42
Create Date: 2026-11-30 22:20:00.000000
"""

from collections.abc import Sequence

from shared.migrations import create_audit_log, drop_audit_log

revision: str = "b4d7f2a10c38"
down_revision: str | None = "5d0a7c1e9f42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_audit_log()


def downgrade() -> None:
    drop_audit_log()
