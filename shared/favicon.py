"""The site's icon, the same on every service: `/favicon.ico` (which browsers ask for by
themselves) and `/favicon.svg` (which base.html links)."""

from __future__ import annotations

from pathlib import Path

from litestar import Response, get
from litestar.datastructures import CacheControlHeader

STATIC = Path(__file__).parent / "static"
ICO = (STATIC / "favicon.ico").read_bytes()
SVG = (STATIC / "favicon.svg").read_bytes()
A_DAY = CacheControlHeader(max_age=86_400, public=True)


@get(
    "/favicon.ico",
    operation_id="faviconIco",
    include_in_schema=False,
    cache_control=A_DAY,
    sync_to_thread=False,
)
def favicon_ico() -> Response[bytes]:
    return Response(ICO, media_type="image/x-icon")


@get(
    "/favicon.svg",
    operation_id="faviconSvg",
    include_in_schema=False,
    cache_control=A_DAY,
    sync_to_thread=False,
)
def favicon_svg() -> Response[bytes]:
    return Response(SVG, media_type="image/svg+xml")


ROUTES = [favicon_ico, favicon_svg]
