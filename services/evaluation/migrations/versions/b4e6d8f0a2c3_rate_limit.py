"""rate_limit: the public write routes' counts, shared by every instance

Revision ID: b4e6d8f0a2c3
Revises: c5e8a3b21d49
Create Date: 2026-11-30 22:30:00.000000
"""

from collections.abc import Sequence

from shared.migrations import create_rate_limit, drop_rate_limit

revision: str = "b4e6d8f0a2c3"
down_revision: str | None = "c5e8a3b21d49"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_rate_limit()


def downgrade() -> None:
    drop_rate_limit()
