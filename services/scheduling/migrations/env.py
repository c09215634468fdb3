"""Alembic environment of the scheduling service."""

from alembic import context

from services.scheduling.tables import metadata
from shared.migrations import run_env

run_env(context, "scheduling", metadata)
