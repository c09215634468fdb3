"""A service under a path prefix (the path of its public URL, DESIGN.md): a reverse proxy can
then put the three services on one origin. Routes and redirects are written as the service's
own paths ("/staff/"); the app mounts every route under the prefix and puts it in front of
every redirect, and templates write `{{ root }}/staff/`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar import Response, Router
from litestar.response import Redirect
from litestar.types import AfterRequestHookHandler


def mounted(prefix: str, route_handlers: Sequence[Any]) -> Router:
    """Every route of the service, under its prefix ("" mounts them at the root)."""
    return Router(path=prefix or "/", route_handlers=list(route_handlers))


def prefixed_redirects(prefix: str) -> AfterRequestHookHandler:
    """An after-request hook: a redirect to one of the service's own paths (one starting
    with a single "/") goes to that path under the prefix; an absolute URL (another
    service's public address) is left as it is."""

    def prefix_redirect(response: Response[Any]) -> Response[Any]:
        if (
            prefix
            and isinstance(response, Redirect)
            and response.url.startswith("/")
            and not response.url.startswith("//")
        ):
            response.url = prefix + response.url
        return response

    return prefix_redirect
