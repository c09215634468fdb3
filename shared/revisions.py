"""Copies of rows another service owns, kept only moving forward by their revision."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import inspect

from shared.db import UnitOfWork

R = TypeVar("R")

NOTHING: Mapping[str, Any] = {}


async def held(
    uow: UnitOfWork, model: type[R], key: Any, revision: int, *, for_update: bool = False
) -> tuple[R | None, bool]:
    """The row under `key` and whether `revision` is news: False when the row already holds
    this revision or a later one (events arrive in any order and more than once)."""
    row = await uow.session.get(model, key, with_for_update=for_update)
    if row is None:
        return None, True
    return row, getattr(row, "revision") < revision  # noqa: B009 (any model with a revision)


async def upsert_if_newer(
    uow: UnitOfWork,
    model: type[R],
    key: Any,
    revision: int,
    values: Mapping[str, Any],
    *,
    create: Mapping[str, Any] = NOTHING,
    for_update: bool = False,
) -> R | None:
    """Create the row (with `values`, `create` and the revision) or update it with `values`
    and the revision, unless it already holds this revision or a later one (then None)."""
    row, news = await held(uow, model, key, revision, for_update=for_update)
    if not news:
        return None
    if row is None:
        row = model(**{**_key_values(model, key), **create, **values, "revision": revision})
    else:
        for name, value in values.items():
            setattr(row, name, value)
        setattr(row, "revision", revision)  # noqa: B010 (any model with a revision)
    uow.session.add(row)
    return row


def _key_values(model: type[Any], key: Any) -> dict[str, Any]:
    """The primary key columns of a new row, from the key `session.get` was given."""
    names = [column.key for column in inspect(model).primary_key]
    parts = key if isinstance(key, tuple) else (key,)
    return dict(zip(names, parts, strict=True))
