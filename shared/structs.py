"""Structs and their fields: a Struct or dataclass built from an object holding most of its
fields, a row built from every field of a request body, the fields a patch sets."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec

T = TypeVar("T")


def carried(target: type[T], source: object, **given: Any) -> T:
    """A `target` (a msgspec Struct or a dataclass) with the fields `given`, and every other
    field read from `source` by name.

    Copying field by field forgets the field added later; a missing one here fails at once.
    """
    if dataclasses.is_dataclass(target):
        fields: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(target))
    else:
        fields = getattr(target, "__struct_fields__")  # noqa: B009 (a Struct's, not the type's)
    values = {name: getattr(source, name) for name in fields if name not in given}
    return target(**given, **values)


def filled(target: Callable[..., T], source: msgspec.Struct, **given: Any) -> T:
    """A `target` (a row, Struct or dataclass) with every field of the Struct `source` (a
    request body), and the fields `given` over or beside them.

    The other way round from `carried`: the source's fields all go, so a field added later to
    the body and the row needs no change here. (A SQLModel row ignores a field it has no
    column for.)
    """
    return target(**(msgspec.structs.asdict(source) | given))


def provided(patch: msgspec.Struct) -> dict[str, Any]:
    """The fields a patch sets (`null` included); unsent ones are left alone."""
    return {
        name: getattr(patch, name)
        for name in patch.__struct_fields__
        if getattr(patch, name) is not msgspec.UNSET
    }
