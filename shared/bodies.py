"""The request class of every service: JSON bodies too deeply nested are refused before decoding."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request

from shared.problems import Problem

# Our bodies nest four levels at most; the decoder recurses once per level and a body of a
# few hundred kilobytes of brackets would exhaust Python's recursion limit (a 500).
MAX_DEPTH = 32
# A JSON string: brackets inside one are text.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_AS_SQUARE = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))


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


class CapitalsRequest(Request[Any, Any, Any]):
    """Litestar's request, with the nesting of a JSON body bounded for every route at once."""

    async def json(self) -> Any:
        if nesting_exceeds(await self.body()):
            raise Problem(
                400,
                f"the JSON body is nested deeper than {MAX_DEPTH} levels, or unbalanced",
                field="body",
            )
        return await super().json()
