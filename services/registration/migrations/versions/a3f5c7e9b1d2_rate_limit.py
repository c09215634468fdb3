"""rate_limit: the public write routes' counts, shared by every instance

Revision ID: a3f5c7e9b1d2
Revises: d4a7c2e91f36
Create Date: 2026-11-30 22:30:00.000000
"""

from collections.abc import Sequence

from shared.migrations import create_rate_limit, drop_rate_limit

revision: str = "a3f5c7e9b1d2"
down_revision: str | None = "d4a7c2e91f36"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_rate_limit()


def downgrade() -> None:
    drop_rate_limit()
