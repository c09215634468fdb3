"""Registration's staff pages at the door: find a confirmed participant and check them in for
a day of the training (or undo it), on a phone. The caller is checked as on every staff
page (staff_pages.py)."""

from __future__ import annotations

import contextlib
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Response, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from services.registration import commands, domain, queries, views
from services.registration.staff_pages import (
    NOTICES,
    Request_,
    Text,
    back_with,
    managed_training,
    of_registration,
    refused,
    summary_of,
)
from services.registration.tables import TrainingRow
from shared.clock import clock
from shared.commands import execute
from shared.errors import DomainError
from shared.params import DB, AppSettings
from shared.problems import status_of

DOOR_PAGE = 30


# Search as you type at the door, as progressive enhancement (the CSP allows no inline script).
CHECK_IN_SCRIPT = (Path(__file__).parent / "static" / "check_in.js").read_bytes()


@get("/staff/check-in.js", operation_id="checkInScript")
async def check_in_script() -> Response[bytes]:
    return Response(
        CHECK_IN_SCRIPT,
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=3600"},
    )


def door_day(training: TrainingRow, asked: str | None) -> date:
    """The day the door page works on: the one asked for if it is a day of the training,
    else today in the training's zone, kept within the training's days."""
    days = domain.training_days(training)
    with contextlib.suppress(DomainError):
        chosen = domain.parse_day(asked)
        if chosen in days:
            return chosen
    today = clock.now().astimezone(ZoneInfo(training.timezone)).date()
    return min(max(today, days[0]), days[-1])


@get("/staff/trainings/{training_id:str}/check-in", operation_id="checkInPage")
async def check_in_page(
    training_id: FromPath[str],
    request: Request_,
    db: DB,
    q: Text = None,
    done: Text = None,
    day: Text = None,
) -> Template | Redirect:
    """Find a confirmed participant by name, organisation or country; one tap checks them in
    for the day shown (today by default; another day of the training can be picked)."""
    found = await managed_training(request, db, training_id)
    if not isinstance(found, tuple):
        return found
    _, row = found
    shown = door_day(row, day)
    filters = queries.Filters(status="confirmed", q=q)
    async with db.session() as session:
        listed, total = await queries.registrations(session, training_id, filters, DOOR_PAGE, 0)
    summary = await summary_of(db, row)
    return Template(
        template_name="staff_check_in.html",
        context={
            "summary": summary,
            "day": shown,
            "days": domain.training_days(row),
            "checked_in": dict(summary.per_day).get(shown, 0),
            "items": [
                views.registration_out(r, position, days=days) for r, position, days in listed
            ],
            "total": total,
            "q": q or "",
            "notice": NOTICES.get(done or ""),
        },
    )


async def _door(
    request: Request_,
    db: Any,
    settings: Any,
    registration_id: str,
    form: dict[str, str],
    undo: bool,
) -> Response[Any]:
    found = await of_registration(request, db, registration_id)
    if not isinstance(found, tuple):
        return found
    staff, row = found
    back = f"/staff/trainings/{row.id}/check-in"
    command: Any = commands.undo_check_in if undo else commands.check_in
    make: Any = commands.UndoCheckIn if undo else commands.CheckIn
    try:
        day = domain.parse_day(form.get("day"))
        await execute(db, command, settings, staff, make(registration_id, day))
    except DomainError as refusal:
        return refused(refusal.message, status_of(refusal), back)
    done = "undone" if undo else "checked_in"
    return back_with(back, done, q=form.get("q"), day=form.get("day"))


@post("/staff/registrations/{registration_id:str}/check-in", operation_id="checkInByPage")
async def check_in_by_page(
    registration_id: FromPath[str],
    request: Request_,
    data: URLEncodedBody[dict[str, str]],
    db: DB,
    settings: AppSettings,
) -> Response[Any]:
    return await _door(request, db, settings, registration_id, data, undo=False)


@post("/staff/registrations/{registration_id:str}/undo-check-in", operation_id="undoCheckInByPage")
async def undo_check_in_by_page(
    registration_id: FromPath[str],
    request: Request_,
    data: URLEncodedBody[dict[str, str]],
    db: DB,
    settings: AppSettings,
) -> Response[Any]:
    return await _door(request, db, settings, registration_id, data, undo=True)


ROUTES = [check_in_page, check_in_script, check_in_by_page, undo_check_in_by_page]
