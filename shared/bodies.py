"""What every request must be before a route reads it: JSON in UTF-8 and nested within bounds,
and no NUL character anywhere (PostgreSQL cannot store one in text, so it would end as a 500)."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.types import ASGIApp, Receive, Scope, Send

from shared.errors import Invalid, Unreadable

# Our bodies nest four levels at most; the decoder recurses once per level and a body of a
# few hundred kilobytes of brackets would exhaust Python's recursion limit (a 500).
MAX_DEPTH = 32
# A JSON string: brackets inside one are text.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_AS_SQUARE = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
# \u0000 in JSON text, unless its backslash is itself escaped (an even run before the u).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def nesting_exceeds(body: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether the JSON text opens more than `limit` arrays or objects inside one another
    (or opens more than `limit` that it never closes)."""
    # Counting settles almost every real body; the rest costs a few passes in C, never a
    # Python loop over the bytes.
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    brackets = _STRING.sub(b"", body).translate(_AS_SQUARE, _NOT_BRACKETS)
    # Each pass removes the innermost pairs, so the text is empty after `limit` passes
    # exactly when no bracket sits deeper than `limit`.
    too_deep = b"[" * (limit + 1)
    for _ in range(limit):
        if too_deep in brackets:
            return True
        brackets = brackets.replace(b"[]", b"")
    return bool(brackets)


def carries_nul(body: bytes, *, url_encoded: bool) -> bool:
    """A NUL as a raw byte, URL-encoded in a form, or escaped in JSON."""
    if b"\x00" in body:
        return True
    if url_encoded:
        return b"%00" in body
    return b"u0000" in body and bool(_JSON_NUL.search(body))


def field_with_nul(value: Any, path: str = "") -> str | None:
    """The path (`title`, `speakers[0].name`, `needs.diet`) of the first text in a decoded
    JSON value that holds a NUL, or of the first key that does; None if there is none."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return name
            found = field_with_nul(item, name)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = field_with_nul(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def _refuse_nul(body: bytes) -> None:
    """422 naming the field that holds the NUL, like every other refused value; 400 when
    the body cannot be read far enough to say which field it is."""
    field: str | None = None
    if b"\x00" not in body and not nesting_exceeds(body):
        try:
            field = field_with_nul(msgspec.json.decode(body))
        except msgspec.DecodeError:
            field = None
    if field is None:
        raise Unreadable("the body contains a NUL character", field="body")
    raise Invalid(f"{field} must not contain a NUL character", field=field)


class CapitalsRequest(Request[Any, Any, Any]):
    """Litestar's request, with its body checked once for every route: what the routes'
    parameters and the form and JSON readers see has passed these checks."""

    async def body(self) -> bytes:
        body = await super().body()
        # A form is left to its page, which checks every field with the text rules of
        # shared.inputs (a NUL among them) and shows the error beside the field.
        if self.content_type[0] != RequestEncodingType.URL_ENCODED and carries_nul(
            body, url_encoded=False
        ):
            _refuse_nul(body)
        return body

    async def json(self) -> Any:
        if nesting_exceeds(await self.body()):
            raise Unreadable(
                f"the JSON body is nested deeper than {MAX_DEPTH} levels, or unbalanced",
                field="body",
            )
        try:
            return await super().json()
        except UnicodeDecodeError:
            # Litestar turns msgspec's own decode errors into a 400, but not this one.
            raise Unreadable("the JSON body is not valid UTF-8", field="body") from None


class NoNulMiddleware:
    """Refuses a NUL character in the path or the query before any route or guard uses it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if "\x00" in scope["path"]:
                raise Unreadable("the path contains a NUL character", field="path")
            if b"%00" in scope["query_string"] or b"\x00" in scope["query_string"]:
                raise Unreadable("the query contains a NUL character", field="query")
        await self.app(scope, receive, send)
