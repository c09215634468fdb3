"""Typed markers for route parameters, so every handler declares where each value comes from."""

from __future__ import annotations

from typing import Annotated, TypeAlias

from litestar.di import NamedDependency
from litestar.params import HeaderParameter

from shared.auth import Staff
from shared.db import Database

DB: TypeAlias = NamedDependency[Database]
Caller: TypeAlias = NamedDependency[Staff | None]
ManageToken: TypeAlias = Annotated[
    str | None, HeaderParameter(name="X-Manage-Token", required=False)
]
