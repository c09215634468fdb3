"""How every service's staff pages authorise their caller, once, before the handler runs.

A page cannot answer 401/403 problem details as the API does: its caller is sent to sign
in, or shown the service's refusal page. The guard and dependencies of the pages' router decide
that and raise PageRefused with the answer; the router's exception handler shows it.
Handlers take `who: StaffMember` (and whatever their service loads, such as a managed
training) and never check the caller themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from litestar import Request, Response, Router
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.handlers.base import BaseRouteHandler
from litestar.types import ControllerRouterHandler, Guard

from shared.auth import sign_in_again, staff_or_none
from shared.staff import Staff

# The service's refusal page: its message and status code.
Refuse = Callable[[str, int], Response[Any]]

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


def _signed_in(connection: ASGIConnection[Any, Any, Any, Any]) -> Staff:
    """The signed-in caller, or PageRefused sending the public to sign in."""
    staff = staff_or_none(connection)
    if staff is None:
        raise PageRefused(sign_in_again(connection))
    return staff


def _caller(request: Request[Any, Any, Any]) -> Staff:
    # The provider of `who`, after the guard has let the caller in.
    return _signed_in(request)


def _guard(refuse: Refuse) -> Guard:
    def signed_in(
        connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        """Every page of the router: a signed-in caller, and the secretariat on a page its
        handler marks `secretariat_only`, however the handler reads its caller."""
        staff = _signed_in(connection)
        only = handler.opt.get(SECRETARIAT_ONLY)
        if only is not None and not staff.is_secretariat:
            raise PageRefused(refuse(str(only), 403))

    return signed_in


def staff_router(
    refuse: Refuse,
    *handlers: ControllerRouterHandler,
    dependencies: Mapping[str, Provide] | None = None,
    **router: Any,
) -> Router:
    """The router of staff pages only a signed-in caller sees (refused with `refuse`):
    their handlers take the caller as `who`, and the service's own `dependencies`, which
    may raise PageRefused too."""
    return Router(
        path="/",
        route_handlers=list(handlers),
        guards=[_guard(refuse)],
        dependencies={
            "who": Provide(_caller, sync_to_thread=False),
            **(dependencies or {}),
        },
        exception_handlers={PageRefused: _answer},
        **router,
    )


def _answer(_: Request[Any, Any, Any], refusal: PageRefused) -> Response[Any]:
    return refusal.answer
