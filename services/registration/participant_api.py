"""JSON routes by which a participant (X-Manage-Token) looks after their registration."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.params import FromPath, JSONBody

from services.registration import details, views
from services.registration.guards import for_holder_or_host
from services.registration.schemas import DetailsIn, RegistrationOut
from shared.routes import OpenCall, guarded_patch


@guarded_patch(
    "/registrations/{registration_id:str}",
    operation_id="changeRegistrationDetails",
    status_code=200,
)
async def change_details(
    registration_id: FromPath[str],
    data: JSONBody[DetailsIn],
    open_call: OpenCall,
) -> RegistrationOut:
    """Correct name, organisation, position, needs or language; only the fields sent change.
    A bad value answers 422 naming the field and changes nothing."""
    changes: dict[str, Any] = {
        name: msgspec.to_builtins(value)
        for name, value in msgspec.structs.asdict(data).items()
        if value is not msgspec.UNSET
    }
    command = details.ChangeDetails(registration_id, changes)
    done = await open_call.run(details.change_details, command)
    return views.registration_out(done.row, done.position)


ROUTES = [for_holder_or_host(change_details)]
