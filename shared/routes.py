"""What the services' JSON routes share: a command's call (database, settings, who calls) as
one dependency, routes grouped by their guard, the kinds of route with the answers each
documents, and the `{"items": [...]}` answer of a list."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeAlias, TypeVar

from litestar import Router, delete, get, patch, post, put
from litestar.di import NamedDependency, Provide
from litestar.types import ControllerRouterHandler, Guard, ParametersMap
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.auth import require_secretariat
from shared.commands import Command, execute
from shared.db import Database
from shared.params import DB, AppSettings, Caller, StaffMember
from shared.problems import problems
from shared.settings import Settings
from shared.staff import Staff

R = TypeVar("R")
T = TypeVar("T")


@dataclass(frozen=True)
class CommandCall:
    """One call of a route: where its commands run, with which settings, for whom (None: the
    holder of a link token)."""

    db: Database
    settings: Settings
    who: Staff | None

    async def run(self, command: Command[R], input: Any) -> R:
        """Run `command` in its own unit of work for this caller (shared.commands)."""
        return await execute(self.db, command, self.settings, self.who, input)


def provide_call(db: DB, settings: AppSettings, who: StaffMember) -> CommandCall:
    return CommandCall(db, settings, who)


def provide_open_call(db: DB, settings: AppSettings, staff: Caller) -> CommandCall:
    return CommandCall(db, settings, staff)


def provide_link_call(db: DB, settings: AppSettings) -> CommandCall:
    return CommandCall(db, settings, None)


# A router's `dependencies`: its handlers may then ask for `call: Call`, a staff member's
# call (like `who`, it answers 401 to anyone else); `open_call: OpenCall`, the call of
# whoever the route's guards let through; or `link_call: LinkCall`, the call of the holder
# of a link token, whose commands run for nobody (`who` None) even if staff send it.
CALLS = {
    "call": Provide(provide_call, sync_to_thread=False),
    "open_call": Provide(provide_open_call, sync_to_thread=False),
    "link_call": Provide(provide_link_call, sync_to_thread=False),
}
Call: TypeAlias = NamedDependency[CommandCall]
OpenCall: TypeAlias = NamedDependency[CommandCall]
LinkCall: TypeAlias = NamedDependency[CommandCall]


# A POST that acts on something there already (Litestar's default for a POST is 201).
action = partial(post, status_code=200)
# A read only the secretariat may make, of this service as a whole: 403 for anyone else.
secretariat_get = partial(get, guards=[require_secretariat], responses=problems(403))
# A read behind a guard: 403 for a caller it refuses, 404 where there is nothing to read.
guarded_get = partial(get, responses=problems(403, 404))
# An action behind a guard: besides, 409 where the state does not allow it.
guarded_action = partial(action, responses=problems(403, 404, 409))
# A change with a body behind a guard: 403, 404, 409, and 413 for a body too large, 422
# for an invalid one.
CHANGE = problems(403, 404, 409, 413, 422)
guarded_post = partial(post, responses=CHANGE)
guarded_put = partial(put, responses=CHANGE)
guarded_patch = partial(patch, responses=CHANGE)
# An undoing behind a guard: 403, 404, 409 as for an action, 422 for a query it cannot read;
# 200 with what stands after (Litestar's default for a DELETE is 204, no body).
guarded_delete = partial(delete, status_code=200, responses=problems(403, 404, 409, 422))


def guarded(
    guard: Guard, *handlers: ControllerRouterHandler, parameters: ParametersMap | None = None
) -> Router:
    """Routes that `guard` lets through first, before any body is read; they may ask for
    `call`, `open_call` or `link_call`. `parameters`: what the guard reads (a header),
    declared for each route in the OpenAPI description."""
    return Router(
        path="/",
        guards=[guard],
        route_handlers=list(handlers),
        dependencies=CALLS,
        parameters=parameters,
    )


def unguarded(*handlers: ControllerRouterHandler) -> Router:
    """Routes anyone may call (a link token in the path says whose they are); they may ask
    for `link_call`."""
    return Router(path="/", route_handlers=list(handlers), dependencies=CALLS)


async def items(
    db: Database,
    read: Callable[[AsyncSession, str], Awaitable[Iterable[T]]],
    key: str,
    out: Callable[[T], R],
) -> dict[str, list[R]]:
    """The answer of a list route, `{"items": [...]}`: the rows `read` for `key` (the id in
    the path) in one session, each presented by `out`."""
    async with db.session() as session:
        rows = await read(session, key)
    return {"items": [out(row) for row in rows]}
