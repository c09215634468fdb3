"""The scheduling service, assembled."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar

from services.scheduling.api import api
from services.scheduling.handlers import HANDLERS
from services.scheduling.pages import pages
from services.scheduling.staff import staff_pages as organiser_pages
from services.scheduling.staff_pages import staff_pages as people_pages
from shared.service import ServiceSpec, create_app
from shared.settings import Settings

SPEC = ServiceSpec(
    name="scheduling",
    title="Scheduling",
    route_handlers=[api, pages, organiser_pages, people_pages],
    handlers=HANDLERS,
    templates=Path(__file__).parent / "templates",
)


def app(settings: Settings) -> Litestar:
    return create_app(SPEC, settings)
