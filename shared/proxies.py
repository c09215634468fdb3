"""The client's real address and scheme: X-Forwarded-* believed only from trusted proxies."""

from __future__ import annotations

import ipaddress

from litestar.types import ASGIApp, Receive, Scope, Send

from shared.settings import Address, Networks


def _address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def _trusted(address: Address | None, proxies: Networks) -> bool:
    return address is not None and address in proxies


def real_client(peer: str, forwarded_for: list[str], proxies: Networks) -> str:
    """The address of the client, walking X-Forwarded-For from the nearest hop back while
    each hop is a trusted proxy: the first untrusted one is the client (anything further
    left was written by that client and proves nothing)."""
    if not _trusted(_address(peer), proxies):
        return peer
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    client = peer
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break
        client = str(address)
        if not _trusted(address, proxies):
            break
    return client


class ForwardedMiddleware:
    """Sets the ASGI client and scheme from X-Forwarded-For / -Proto when, and only when, the
    peer is in CAPITALS_TRUSTED_PROXIES, so that the rate limit, logs and links see the real
    client; otherwise a client could pick any address it likes per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        proxies: Networks = scope["litestar_app"].state.settings.trusted_proxies
        peer = scope.get("client")
        if proxies and peer and scope["type"] in ("http", "websocket"):
            headers = [(k.lower(), v.decode("latin-1")) for k, v in scope["headers"]]
            if _trusted(_address(peer[0]), proxies):
                forwarded = [v for k, v in headers if k == b"x-forwarded-for"]
                client = real_client(peer[0], forwarded, proxies)
                scope["client"] = (client, 0 if client != peer[0] else peer[1])
                protos = [v for k, v in headers if k == b"x-forwarded-proto"]
                # The nearest proxy's word counts: the last value it appended.
                proto = protos[-1].split(",")[-1].strip().lower() if protos else ""
                if proto in ("http", "https"):
                    ws = scope["type"] == "websocket"
                    scope["scheme"] = {"http": "ws", "https": "wss"}[proto] if ws else proto
        await self.app(scope, receive, send)
