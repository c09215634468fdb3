"""The registration service, assembled."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar, Router
from litestar.di import Provide

from services.registration import api, commands, pages, privacy
from services.registration.batching import GroupCommit
from services.registration.handlers import handlers
from shared.service import Runtime, ServiceSpec, create_app
from shared.settings import Settings


def spec(settings: Settings) -> ServiceSpec:
    intake: api.Intake = GroupCommit(
        lambda uow, batch: commands.register_batch(settings, uow, batch)
    )

    async def write_registrations(runtime: Runtime) -> None:
        await intake.run(runtime.db)

    return ServiceSpec(
        name="registration",
        title="Registration",
        route_handlers=[
            Router(
                path="/",
                route_handlers=api.ROUTES,
                opt={"exclude_from_csrf": True},
                tags=["registration"],
            ),
            # Pages are protected by the CSRF middleware.
            Router(path="/", route_handlers=pages.ROUTES, include_in_schema=False),
        ],
        handlers=handlers,
        jobs=[write_registrations, privacy.apply_retention],
        templates=Path(__file__).parent / "templates",
        dependencies={"registrations": Provide(lambda: intake, sync_to_thread=False)},
    )


def app(settings: Settings) -> Litestar:
    return create_app(spec(settings), settings)
