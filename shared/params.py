"""Typed markers for route parameters, so every handler declares where each value comes from."""

from __future__ import annotations

from typing import Annotated, TypeAlias

from litestar.di import NamedDependency
from litestar.params import HeaderParameter, QueryParameter

from shared.auth import Staff
from shared.db import Database
from shared.settings import Settings

# The largest value an INTEGER column holds on PostgreSQL (SQLite's are wider): every
# integer that reaches a query is bounded by it or by something smaller that makes sense.
INT32_MAX = 2**31 - 1
# No page anyone reads starts a million rows in.
MAX_OFFSET = 1_000_000

DB: TypeAlias = NamedDependency[Database]
Caller: TypeAlias = NamedDependency[Staff | None]
# The settings the app was made with, provided by `create_app` for every service.
AppSettings: TypeAlias = NamedDependency[Settings]
# The calling staff member; its provider answers 401 to the public.
StaffMember: TypeAlias = NamedDependency[Staff]
ManageToken: TypeAlias = Annotated[
    str | None, HeaderParameter(name="X-Manage-Token", required=False)
]
Offset: TypeAlias = Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET)]
