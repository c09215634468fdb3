"""JSON routes by which a participant (X-Manage-Token) looks after their registration."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import patch
from litestar.params import FromPath, JSONBody

from services.registration import details, views
from services.registration.guards import holder_or_host
from services.registration.schemas import DetailsIn, RegistrationOut
from shared.commands import execute
from shared.params import DB, AppSettings, Caller, ManageToken
from shared.problems import problems


@patch(
    "/registrations/{registration_id:str}",
    operation_id="changeRegistrationDetails",
    responses=problems(403, 404, 409, 413, 422),
    status_code=200,
    guards=[holder_or_host],
)
async def change_details(
    registration_id: FromPath[str],
    data: JSONBody[DetailsIn],
    db: DB,
    settings: AppSettings,
    staff: Caller,
    manage_token: ManageToken = None,
) -> RegistrationOut:
    """Correct name, organisation, position, needs or language; only the fields sent change.
    A bad value answers 422 naming the field and changes nothing."""
    changes: dict[str, Any] = {
        name: msgspec.to_builtins(value)
        for name, value in msgspec.structs.asdict(data).items()
        if value is not msgspec.UNSET
    }
    done = await execute(
        db, details.change_details, settings, staff, details.ChangeDetails(registration_id, changes)
    )
    return views.registration_out(done.row, done.position)


ROUTES = [change_details]
