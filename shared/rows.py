"""Reading one row by its key, or answering 404: the first read of most queries."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from shared.errors import NotFound

R = TypeVar("R")


async def row_or_404(
    reading: AsyncSession, row_type: type[R], key: Any, missing: str, *, field: str | None = None
) -> R:
    """The `row_type` row whose primary key is `key`; NotFound(`missing`, `field`) if none."""
    found = await reading.get(row_type, key)
    if found is None:
        raise NotFound(missing, field=field)
    return found
