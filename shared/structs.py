"""Building a response Struct from an object that already holds most of its fields."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

S = TypeVar("S", bound=msgspec.Struct)


def carried(target: type[S], source: object, **given: Any) -> S:
    """A `target` with the fields `given`, and every other field read from `source` by name.

    Copying field by field forgets the field added later; a missing one here fails at once.
    """
    names = [name for name in target.__struct_fields__ if name not in given]
    return target(**given, **{name: getattr(source, name) for name in names})
