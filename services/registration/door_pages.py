"""Registration's staff pages at the door: find a confirmed participant and check them in for
a day of the training (or undo it), on a phone. The caller is checked as on every staff
page (guards.managed_pages)."""

from __future__ import annotations

import contextlib
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Response, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from services.registration import attendance_days, commands, documents, queries, views
from services.registration.guards import Managed, ManagedTraining, managed_pages, refused
from services.registration.staff_pages import NOTICES, Text, act, summary_of
from services.registration.tables import TrainingRow
from shared.clock import clock
from shared.errors import DomainError
from shared.problems import status_of

DOOR_PAGE = 30


# Search as you type and scanning badges at the door, as progressive enhancement (the CSP
# allows no inline script).
STATIC = Path(__file__).parent / "static"
CHECK_IN_SCRIPT = (STATIC / "check_in.js").read_bytes()
BADGE_SCAN_SCRIPT = (STATIC / "badge_scan.js").read_bytes()


def _script(content: bytes) -> Response[bytes]:
    return Response(
        content,
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@get("/staff/check-in.js", operation_id="checkInScript")
async def check_in_script() -> Response[bytes]:
    return _script(CHECK_IN_SCRIPT)


@get("/staff/badge-scan.js", operation_id="badgeScanScript")
async def badge_scan_script() -> Response[bytes]:
    """Reads a badge's QR code with the camera where the browser offers BarcodeDetector."""
    return _script(BADGE_SCAN_SCRIPT)


def door_day(training: TrainingRow, asked: str | None) -> date:
    """The day the door page works on: the one asked for if it is a day of the training,
    else today in the training's zone, kept within the training's days."""
    days = attendance_days.training_days(training)
    with contextlib.suppress(DomainError):
        chosen = attendance_days.parse_day(asked)
        if chosen in days:
            return chosen
    today = clock.now().astimezone(ZoneInfo(training.timezone)).date()
    return min(max(today, days[0]), days[-1])


@get("/staff/trainings/{training_id:str}/check-in", operation_id="checkInPage")
async def check_in_page(
    managed: Managed, q: Text = None, done: Text = None, day: Text = None
) -> Template | Redirect:
    """Find a confirmed participant by name, organisation or country; one tap checks them in
    for the day shown (today by default; another day of the training can be picked)."""
    return await _door_page(managed, q, done, day)


async def _door_page(
    managed: ManagedTraining,
    q: str | None,
    done: str | None,
    day: str | None,
    code: str = "",
    code_error: str | None = None,
    status_code: int = 200,
) -> Template:
    row = managed.training
    shown = door_day(row, day)
    filters = queries.Filters(status="confirmed", q=q)
    async with managed.db.session() as session:
        listed, total = await queries.registrations(session, row.id, filters, DOOR_PAGE, 0)
    summary = await summary_of(managed.db, row)
    return Template(
        template_name="staff_check_in.html",
        context={
            "summary": summary,
            "day": shown,
            "days": attendance_days.training_days(row),
            "checked_in": dict(summary.per_day).get(shown, 0),
            "items": [
                views.registration_out(r, position, days=days) for r, position, days in listed
            ],
            "total": total,
            "q": q or "",
            "notice": NOTICES.get(done or ""),
            "code": code,
            "code_error": code_error,
        },
        status_code=status_code,
    )


async def _door(
    managed: ManagedTraining, registration_id: str, form: dict[str, str], undo: bool
) -> Response[Any]:
    back = f"/staff/trainings/{managed.training.id}/check-in"
    command: Any = commands.undo_check_in if undo else commands.check_in
    make: Any = commands.UndoCheckIn if undo else commands.CheckIn
    try:
        day = attendance_days.parse_day(form.get("day"))
    except DomainError as refusal:
        return refused(refusal.message, status_of(refusal), back)
    done = "undone" if undo else "checked_in"
    query = {"q": form.get("q"), "day": form.get("day")}
    return await act(managed, command, make(registration_id, day), back, done, **query)


@post("/staff/registrations/{registration_id:str}/check-in", operation_id="checkInByPage")
async def check_in_by_page(
    registration_id: FromPath[str], data: URLEncodedBody[dict[str, str]], managed: Managed
) -> Response[Any]:
    return await _door(managed, registration_id, data, undo=False)


@post("/staff/registrations/{registration_id:str}/undo-check-in", operation_id="undoCheckInByPage")
async def undo_check_in_by_page(
    registration_id: FromPath[str], data: URLEncodedBody[dict[str, str]], managed: Managed
) -> Response[Any]:
    return await _door(managed, registration_id, data, undo=True)


@post("/staff/trainings/{training_id:str}/check-in-code", operation_id="checkInByCodePage")
async def check_in_by_code_page(
    training_id: FromPath[str], data: URLEncodedBody[dict[str, str]], managed: Managed
) -> Response[Any]:
    """Check in the registration whose badge code was typed or scanned. A code of another
    training, or none at all, is refused beside the field and changes nothing."""
    typed = (data.get("code") or "")[:100]
    async with managed.db.session() as session:
        registration = await documents.by_check_in_code(session, training_id, typed)
    if registration is None:
        error = (
            "No participant of this training has this badge code. Check it, or find them by name."
        )
        return await _door_page(managed, None, None, data.get("day"), typed, error, 422)
    # Checked in for the day the page shows.
    day = {"day": data["day"]} if data.get("day") else {}
    return await _door(managed, registration.id, day, undo=False)


ROUTES: list[Any] = [
    check_in_script,
    badge_scan_script,
    managed_pages(check_in_page, check_in_by_page, undo_check_in_by_page, check_in_by_code_page),
]
