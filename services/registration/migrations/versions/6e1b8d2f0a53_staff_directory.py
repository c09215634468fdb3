"""staff_directory: who the staff are now, from scheduling.staff.changed

Revision ID: 6e1b8d2f0a53
Revises: b7d41e2a9c10
Create Date: 2026-11-30 21:00:00.000000
"""

from collections.abc import Sequence

from shared.migrations import create_staff_directory, drop_staff_directory

revision: str = "6e1b8d2f0a53"
down_revision: str | None = "b7d41e2a9c10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_staff_directory()


def downgrade() -> None:
    drop_staff_directory()
