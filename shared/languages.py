"""Which language a participant's page is in, and the switcher that changes it.

In this order (DESIGN.md, Languages): the switcher's choice (`?lang=xx`, remembered in a
cookie), the registration's language on pages reached with a manage or invitation token
(`holder_speaks`), the best match of `Accept-Language` (`de-AT` falls back to `de`), else
English. Every service app installs `SpeakingMiddleware` once (shared.service); it acts only
on routes whose opt marks them as participant pages (`opt=PARTICIPANT`, on a Router or a
handler). Staff pages and the API are not marked, and stay English.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from http.cookies import SimpleCookie
from types import MappingProxyType
from urllib.parse import parse_qs

from litestar.types import Message, Receive, Scope, Send

from shared import i18n
from shared.asgi import HttpMiddleware

COOKIE = "capitals_lang"
COOKIE_AGE = 365 * 24 * 3600
VARY = b"Accept-Language, Cookie"

# The route opt that makes a route a participant page: `opt=PARTICIPANT` on its Router or
# handler (Litestar merges a Router's opt into each of its handlers' opt).
PARTICIPANT_PAGE = "participant"
PARTICIPANT = MappingProxyType({PARTICIPANT_PAGE: True})

# The person chose the language themselves (switcher or cookie): a registration's own
# language does not override it.
_chosen: ContextVar[bool] = ContextVar("language_chosen", default=False)


def _tag(text: str) -> str:
    return text.strip().lower().replace("_", "-")


def best_match(accept_language: str, offered: Sequence[str]) -> str | None:
    """The offered language the `Accept-Language` header likes best; a region tag falls back
    to its language (`de-AT` → `de`); `*` takes the first offered; None when nothing fits."""
    wishes: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        tag, _, parameters = part.partition(";")
        quality = 1.0
        for parameter in parameters.split(";"):
            name, _, value = parameter.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if _tag(tag) and quality > 0:
            wishes.append((-quality, index, _tag(tag)))
    for _q, _i, tag in sorted(wishes):
        if tag == "*":
            return offered[0] if offered else None
        if tag in offered:
            return tag
        base = tag.split("-", 1)[0]
        if base in offered:
            return base
    return None


def choose(
    *,
    query: str | None,
    cookie: str | None,
    accept_language: str | None,
    offered: Sequence[str],
    holder: str | None = None,
) -> tuple[str, bool]:
    """(language, chosen by the person) for a page, by DESIGN.md's order."""
    for explicit in (query, cookie):
        if explicit and _tag(explicit) in offered:
            return _tag(explicit), True
    if holder and holder in offered:
        return holder, False
    matched = best_match(accept_language or "", offered)
    if matched:
        return matched, False
    return (i18n.DEFAULT if i18n.DEFAULT in offered or not offered else offered[0]), False


def holder_speaks(language: str | None) -> None:
    """On a page reached with a manage or invitation token: speak the registration's
    language unless the person chose one with the switcher."""
    if language and not _chosen.get():
        offered = _offered.get()
        if language in offered:
            i18n.speak(language)


# The languages a participant page offers; empty outside one (staff pages, the API).
_offered: ContextVar[tuple[str, ...]] = ContextVar("languages_offered", default=())


def switcher() -> tuple[str, ...]:
    """The languages the page's switcher lists: none on a page that is not a participant's."""
    offered = _offered.get()
    return offered if len(offered) > 1 else ()


def _offered_by(scope: Scope) -> tuple[str, ...]:
    settings = scope["app"].state.get("settings")
    languages: tuple[str, ...] = getattr(settings, "languages", (i18n.DEFAULT,))
    return languages


def _participant_page(scope: Scope) -> bool:
    # App middleware runs inside the matched route's stack, so the handler is known here.
    handler = scope.get("route_handler")
    return handler is not None and bool(handler.opt.get(PARTICIPANT_PAGE))


class SpeakingMiddleware(HttpMiddleware):
    """On a participant page (opt `PARTICIPANT`): speaks the page's language for the request,
    remembers a switcher choice in a cookie, and says that the answer varies with
    `Accept-Language` and the cookie. Any other route passes straight through, in English."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _participant_page(scope):
            await self.app(scope, receive, send)
            return
        headers = {name.lower(): value.decode("latin-1") for name, value in scope["headers"]}
        query = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("lang", [None])[0]
        cookies = SimpleCookie()
        try:
            cookies.load(headers.get(b"cookie", ""))
        except Exception:  # a malformed Cookie header: as if there were none
            cookies = SimpleCookie()
        remembered = cookies[COOKIE].value if COOKIE in cookies else None
        offered = _offered_by(scope)
        code, chosen = choose(
            query=query,
            cookie=remembered,
            accept_language=headers.get(b"accept-language"),
            offered=offered,
        )
        switched = bool(query) and chosen and _tag(query or "") == code
        tokens = (i18n._spoken.set(code), _chosen.set(chosen), _offered.set(offered))

        async def send_varied(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [
                    (b"vary", VARY),
                    (b"content-language", i18n.language().encode("latin-1")),
                ]
                if switched:
                    extra.append(
                        (
                            b"set-cookie",
                            f"{COOKIE}={code}; Path=/; Max-Age={COOKIE_AGE}; SameSite=Lax; "
                            "HttpOnly".encode("latin-1"),
                        )
                    )
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            await self.app(scope, receive, send_varied)
        finally:
            _offered.reset(tokens[2])
            _chosen.reset(tokens[1])
            i18n._spoken.reset(tokens[0])
