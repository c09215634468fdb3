"""Rate limit of public write routes (Litestar's middleware), set by CAPITALS_RATE_LIMIT."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import NotAuthorizedException, TooManyRequestsException
from litestar.middleware.rate_limit import RateLimitConfig, RateLimitMiddleware
from litestar.types import Receive, Scope, Send

from shared.auth import staff_of


class Throttle(RateLimitMiddleware):
    """Litestar's per-client rate limit, read from the app's settings on every request
    (`CAPITALS_RATE_LIMIT` per minute; 0 turns it off), and answering 429 with the
    Retry-After header."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit: int = scope["litestar_app"].state.settings.rate_limit
        if limit == 0:
            await self.app(scope, receive, send)
            return
        self.max_requests = limit
        try:
            await super().__call__(scope, receive, send)
        except TooManyRequestsException as exc:
            headers = dict(exc.headers or {})
            wait = headers.get(self.config.rate_limit_reset_header_key, "60")
            raise TooManyRequestsException(
                detail=f"too many requests from your address; try again in {wait} s",
                headers={**headers, "Retry-After": wait},
            ) from None


def _public(request: Request[Any, Any, Any]) -> bool:
    """Staff (a valid token) are not throttled: they register people on others' behalf."""
    try:
        return staff_of(request) is None
    except NotAuthorizedException:
        return True


# Keyed on the client address (Litestar's default), which shared.proxies sets from
# X-Forwarded-For only behind CAPITALS_TRUSTED_PROXIES; the per-minute count comes from the
# settings at run time.
THROTTLE = RateLimitConfig(
    rate_limit=("minute", 30), middleware_class=Throttle, check_throttle_handler=_public
).middleware
