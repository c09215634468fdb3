"""outbox_traceparent: the trace context an event is published with

Revision ID: a9c1e5f7d324
Revises: b4e6d8f0a2c3
Create Date: 2026-11-30 23:30:00.000000
"""

from collections.abc import Sequence

from shared.migrations import add_outbox_traceparent, drop_outbox_traceparent

revision: str = "a9c1e5f7d324"
down_revision: str | None = "b4e6d8f0a2c3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_outbox_traceparent()


def downgrade() -> None:
    drop_outbox_traceparent()
