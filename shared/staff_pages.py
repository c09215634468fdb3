"""How every service's staff pages authorise their caller, once, before the handler runs.

A page cannot answer 401/403 problem details as the API does: its caller is sent to sign
in, or shown the service's refusal page. The guard and dependencies of the pages' router decide
that and raise PageRefused with the answer; the router's exception handler shows it.
Handlers take `who: StaffMember` (and whatever their service loads, such as a managed
training) and never check the caller themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from litestar import Request, Response, Router
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.handlers.base import BaseRouteHandler
from litestar.types import ControllerRouterHandler

from shared.auth import check_host, sign_in_again, staff_or_none
from shared.db import Database
from shared.errors import Forbidden
from shared.settings import Settings
from shared.staff import Staff

# The service's refusal page: its message and status code.
Refuse = Callable[[str, int], Response[Any]]

# What a staff page answers the public: by default `sign_in_again`, the sign-in page.
SignIn = Callable[[ASGIConnection[Any, Any, Any, Any]], Response[Any]]

# The key of a handler's `opt` naming why only the secretariat may see the page.
SECRETARIAT_ONLY = "secretariat_only"


class PageRefused(Exception):
    """What a staff page shows instead of itself: the sign-in page or a refusal."""

    def __init__(self, answer: Response[Any]) -> None:
        super().__init__(answer.status_code)
        self.answer = answer


def secretariat_only(message: str) -> dict[str, str]:
    """A page handler's `opt` when only the secretariat may see it; `message` tells others."""
    return {SECRETARIAT_ONLY: message}


class Hosted(Protocol):
    """A training row as far as its staff pages care: whose host country it is."""

    @property
    def host_country(self) -> str: ...


Row = TypeVar("Row", bound=Hosted)


@dataclass(frozen=True)
class ManagedTraining(Generic[Row]):
    """The caller of a staff page and the training they manage, which the page is about,
    with the database and settings the page reads and runs its commands with."""

    staff: Staff
    training: Row
    db: Database
    settings: Settings


def managed_training(
    refuse: Refuse, missing: str, who: Staff, training: Row | None, db: Database, settings: Settings
) -> ManagedTraining[Row]:
    """The training a page is about if the caller manages it; else PageRefused: none
    (`missing` says so) → 404, another country's → 403."""
    if training is None:
        raise PageRefused(refuse(missing, 404))
    try:
        check_host(who, training.host_country)
    except Forbidden as refusal:
        message = "Your sign-in does not cover this training's host country."
        raise PageRefused(refuse(message, 403)) from refusal
    return ManagedTraining(who, training, db, settings)


def staff_router(
    refuse: Refuse,
    *handlers: ControllerRouterHandler,
    sign_in: SignIn = sign_in_again,
    dependencies: Mapping[str, Provide] | None = None,
    **router: Any,
) -> Router:
    """The router of staff pages only a signed-in caller sees: the public gets `sign_in`,
    an organiser on a page its handler marks `secretariat_only` gets `refuse`. Handlers
    take the caller as `who`, and the service's own `dependencies`, which may raise
    PageRefused too."""

    def caller(connection: ASGIConnection[Any, Any, Any, Any]) -> Staff:
        staff = staff_or_none(connection)
        if staff is None:
            raise PageRefused(sign_in(connection))
        return staff

    def signed_in(
        connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        # A guard, so that every page is checked however its handler reads its caller.
        staff = caller(connection)
        only = handler.opt.get(SECRETARIAT_ONLY)
        if only is not None and not staff.is_secretariat:
            raise PageRefused(refuse(str(only), 403))

    def who(request: Request[Any, Any, Any]) -> Staff:
        return caller(request)

    return Router(
        path="/",
        route_handlers=list(handlers),
        guards=[signed_in],
        dependencies={"who": Provide(who, sync_to_thread=False), **(dependencies or {})},
        exception_handlers={PageRefused: _answer},
        **router,
    )


def _answer(_: Request[Any, Any, Any], refusal: PageRefused) -> Response[Any]:
    return refusal.answer
