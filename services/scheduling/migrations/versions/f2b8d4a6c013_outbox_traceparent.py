"""outbox_traceparent: the trace context an event is published with

Revision ID: f2b8d4a6c013
Revises: c5f7e9a1b3d4
Create Date: 2026-11-30 23:30:00.000000
"""

from collections.abc import Sequence

from shared.migrations import add_outbox_traceparent, drop_outbox_traceparent

revision: str = "f2b8d4a6c013"
down_revision: str | None = "c5f7e9a1b3d4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_outbox_traceparent()


def downgrade() -> None:
    drop_outbox_traceparent()
