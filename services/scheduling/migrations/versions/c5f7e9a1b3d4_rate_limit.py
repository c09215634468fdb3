"""rate_limit: the public write routes' counts, shared by every instance

Revision ID: c5f7e9a1b3d4
Revises: b4d7f2a10c38
Create Date: 2026-11-30 22:30:00.000000
"""

from collections.abc import Sequence

from shared.migrations import create_rate_limit, drop_rate_limit

revision: str = "c5f7e9a1b3d4"
down_revision: str | None = "b4d7f2a10c38"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_rate_limit()


def downgrade() -> None:
    drop_rate_limit()
