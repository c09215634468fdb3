"""The evaluation service, assembled."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.di import Provide

from services.evaluation.api import answering, api
from services.evaluation.handlers import handlers
from services.evaluation.jobs import schedule, truncate_wal_after_writes
from services.evaluation.pages import get_evaluation, pages
from shared.service import ServiceSpec, create_app
from shared.settings import Settings


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


SPEC = ServiceSpec(
    name="evaluation",
    title="Evaluation",
    route_handlers=[
        api,
        pages,
        # The invitation link: a page for browsers, the questionnaire API for others.
        Router(path="/", route_handlers=[get_evaluation, *answering], tags=["evaluation"]),
    ],
    handlers=handlers,
    jobs=[schedule, truncate_wal_after_writes],
    templates=Path(__file__).parent / "templates",
    dependencies={"settings": Provide(provide_settings, sync_to_thread=False)},
)


def app(settings: Settings) -> Litestar:
    return create_app(SPEC, settings)
