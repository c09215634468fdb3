"""A training's registrations as CSV for staff, built off the event loop."""

from __future__ import annotations

from collections.abc import Sequence

import anyio.to_thread

from services.registration.schemas import RegistrationOut
from shared.spreadsheets import csv_text

CSV_COLUMNS = (
    "id",
    "status",
    "waitlist_position",
    "waitlist_reason",
    "name",
    "email",
    "organisation",
    "position",
    "country",
    "category",
    "needs_access",
    "needs_diet",
    "checked_in",
    "days_attended",
    "created_at",
)


def registrations_csv(items: Sequence[RegistrationOut]) -> bytes:
    rows = (
        (
            item.id,
            item.status,
            item.waitlist_position,
            item.waitlist_reason,
            item.name,
            item.email,
            item.organisation,
            item.position,
            item.country,
            item.category,
            item.needs.access if item.needs else None,
            item.needs.diet if item.needs else None,
            "yes" if item.checked_in else "no",
            " ".join(day.isoformat() for day in item.days_attended),
            item.created_at.isoformat(),
        )
        for item in items
    )
    return csv_text(CSV_COLUMNS, rows).encode()


async def registrations_csv_off_loop(items: Sequence[RegistrationOut]) -> bytes:
    """Up to 100,000 rows: the event loop keeps serving other requests meanwhile."""
    return await anyio.to_thread.run_sync(registrations_csv, items)
