"""The site's icon, the same on every service: `/favicon.ico` (which browsers ask for by
themselves) and `/favicon.svg` (which base.html links)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.datastructures import CacheControlHeader

STATIC = Path(__file__).parent / "static"
ICONS = {
    "favicon.ico": ((STATIC / "favicon.ico").read_bytes(), "image/x-icon"),
    "favicon.svg": ((STATIC / "favicon.svg").read_bytes(), "image/svg+xml"),
}


@get(
    ["/favicon.ico", "/favicon.svg"],
    operation_id="favicon",
    include_in_schema=False,
    cache_control=CacheControlHeader(max_age=86_400, public=True),
    sync_to_thread=False,
)
def favicon(request: Request[Any, Any, Any]) -> Response[bytes]:
    body, media_type = ICONS[request.url.path.rsplit("/", 1)[-1]]
    return Response(body, media_type=media_type)


ROUTES = [favicon]
