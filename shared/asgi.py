"""Base of the project's own ASGI middlewares that act on HTTP requests alone."""

from __future__ import annotations

from litestar.types import ASGIApp, Receive, Scope, Send


class HttpMiddleware:
    """Passes every other scope (lifespan, websocket) straight on; `http` handles requests."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError
