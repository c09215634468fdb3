"""The registration service, assembled."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar, Router
from litestar.di import Provide

from services.registration import (
    api,
    attendance_routes,
    certificate_pages,
    documents_api,
    door_pages,
    jobs,
    letter_pages,
    manage_pages,
    nomination_api,
    nomination_pages,
    notices,
    pages,
    participant_api,
    staff_pages,
    statistics_routes,
)
from services.registration.handlers import HANDLERS
from services.registration.settings import RegistrationSettings
from shared.service import Runtime, ServiceSpec, create_app
from shared.settings import Settings


def spec() -> ServiceSpec:
    """A function, not a constant like the other services' SPEC: each app gets its own
    intake queue, written by one task of that app (decision record 5)."""
    intake = jobs.intake()

    async def write_registrations(runtime: Runtime) -> None:
        await intake.run(runtime.db, runtime.settings)

    return ServiceSpec(
        name="registration",
        title="Registration",
        route_handlers=[
            Router(
                path="/",
                route_handlers=[
                    *api.ROUTES,
                    *participant_api.ROUTES,
                    *documents_api.ROUTES,
                    *statistics_routes.API_ROUTES,
                    *attendance_routes.API_ROUTES,
                    *nomination_api.ROUTES,
                ],
                opt={"exclude_from_csrf": True},
                tags=["registration"],
            ),
            # Pages are protected by the CSRF middleware.
            Router(
                path="/",
                route_handlers=[
                    *pages.ROUTES,
                    *manage_pages.ROUTES,
                    *staff_pages.ROUTES,
                    *door_pages.ROUTES,
                    *letter_pages.ROUTES,
                    *statistics_routes.PAGE_ROUTES,
                    *certificate_pages.ROUTES,
                    *nomination_pages.ROUTES,
                ],
                include_in_schema=False,
            ),
        ],
        handlers=HANDLERS,
        jobs=[
            write_registrations,
            jobs.retention,
            jobs.letter_retention,
            jobs.nomination_offers,
            notices.notify,
        ],
        templates=Path(__file__).parent / "templates",
        dependencies={"registrations": Provide(lambda: intake, sync_to_thread=False)},
        settings=RegistrationSettings,
    )


def app(settings: Settings) -> Litestar:
    return create_app(spec(), settings)
