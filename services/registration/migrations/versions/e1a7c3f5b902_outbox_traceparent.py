"""outbox_traceparent: the trace context an event is published with

Revision ID: e1a7c3f5b902
Revises: a3f5c7e9b1d2
Create Date: 2026-11-30 23:30:00.000000
"""

from collections.abc import Sequence

from shared.migrations import add_outbox_traceparent, drop_outbox_traceparent

revision: str = "e1a7c3f5b902"
down_revision: str | None = "a3f5c7e9b1d2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_outbox_traceparent()


def downgrade() -> None:
    drop_outbox_traceparent()
