"""The API reference at /schema: Swagger UI from an installed package, served by the service
itself, so that it works under the Content-Security-Policy and loads nothing from elsewhere."""

from __future__ import annotations

import importlib.util
from html import escape
from pathlib import Path
from typing import Any

from litestar import Request, Router
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.static_files import create_static_files_router

OWN_ASSETS = Path(__file__).parent / "static"
ASSETS = "/assets"


def swagger_ui_assets() -> Path:
    """Swagger UI's files as the swagger-ui-py wheel ships them (found without importing
    the package, which would pull in its web-framework adapters)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


class ApiReference(OpenAPIRenderPlugin):
    """Swagger UI at the OpenAPI path; its script, styles and our starter under /assets."""

    def __init__(self, path: str = "/swagger") -> None:
        super().__init__(path=path, favicon="", style="")

    def receive_router(self, router: Router) -> None:
        router.register(
            create_static_files_router(
                path=ASSETS,
                directories=[OWN_ASSETS, swagger_ui_assets()],
                name="api_reference_assets",
                cache_control=CacheControlHeader(max_age=86_400, public=True),
                include_in_schema=False,
            )
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        config = request.app.openapi_config
        base = (config.path or "").rstrip("/") if config else ""
        title = escape(str(openapi_schema["info"]["title"]))
        spec = escape(self.get_openapi_json_route(request))
        return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{base}{ASSETS}/swagger-ui.css">
<script src="{base}{ASSETS}/swagger-ui-bundle.js"></script>
<script src="{base}{ASSETS}/apidocs.js"></script>
</head>
<body>
<div id="swagger-ui" data-spec="{spec}"></div>
</body>
</html>
""".encode()
