"""Alembic environment of the evaluation service."""

from alembic import context

from services.evaluation.tables import metadata
from shared.migrations import run_env

run_env(context, "evaluation", metadata)
