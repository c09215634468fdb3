"""The evaluation service, assembled."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar, Router

from services.evaluation.api import answering, api
from services.evaluation.handlers import HANDLERS
from services.evaluation.jobs import schedule
from services.evaluation.pages import get_evaluation, pages
from services.evaluation.question_pages import question_pages
from services.evaluation.settings import EvaluationSettings
from services.evaluation.staff_pages import staff_pages
from shared.service import ServiceSpec, create_app
from shared.settings import Settings

SPEC = ServiceSpec(
    name="evaluation",
    title="Evaluation",
    route_handlers=[
        api,
        pages,
        staff_pages,
        question_pages,
        # The invitation link: a page for browsers, the questionnaire API for others.
        Router(path="/", route_handlers=[get_evaluation, *answering], tags=["evaluation"]),
    ],
    handlers=HANDLERS,
    jobs=[schedule],
    templates=Path(__file__).parent / "templates",
    settings=EvaluationSettings,
)


def app(settings: Settings) -> Litestar:
    return create_app(SPEC, settings)
