"""staff_directory: who the staff are now, from scheduling.staff.changed

Revision ID: 7f2c9e3a1b64
Revises: b7e1c4a9d2f3
Create Date: 2026-11-30 21:00:00.000000
"""

from collections.abc import Sequence

from shared.migrations import create_staff_directory, drop_staff_directory

revision: str = "7f2c9e3a1b64"
down_revision: str | None = "b7e1c4a9d2f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_staff_directory()


def downgrade() -> None:
    drop_staff_directory()
