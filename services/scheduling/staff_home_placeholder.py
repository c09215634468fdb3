"""A placeholder staff home at /staff/ until the organisers' home lands (drop it then)."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, get
from litestar.response import Redirect, Template

from services.scheduling.staff_pages import SIGN_IN_PAGE
from shared.auth import staff_or_none


@get("/staff/", operation_id="staffHome", media_type=MediaType.HTML, include_in_schema=False)
async def staff_home(request: Request[Any, Any, Any]) -> Template | Redirect:
    who = staff_or_none(request)
    if who is None:
        return Redirect(path=SIGN_IN_PAGE, status_code=303)
    return Template(template_name="staff_home_placeholder.html", context={"who": who})
