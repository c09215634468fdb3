"""The evaluation service, assembled."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar

from services.evaluation.api import api
from services.evaluation.handlers import handlers
from shared.service import ServiceSpec, create_app
from shared.settings import Settings

SPEC = ServiceSpec(
    name="evaluation",
    title="Evaluation",
    route_handlers=[api],
    handlers=handlers,
    templates=Path(__file__).parent / "templates",
)


def app(settings: Settings) -> Litestar:
    return create_app(SPEC, settings)
