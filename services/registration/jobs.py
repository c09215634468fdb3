"""The registration service's work for its whole life: the intake writer and the retention
jobs (personal data after a training, visa letters 30 days after it)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from services.registration import certificates
from services.registration.batching import GroupCommit
from services.registration.intake import Register, register_batch
from services.registration.nominations import offer_waiting
from services.registration.privacy import erase_expired
from services.registration.schemas import RegisteredOut
from services.registration.visa_commands import erase_expired_letters
from shared.jobs import on_change, periodic

if TYPE_CHECKING:
    from shared.service import Runtime

log = logging.getLogger(__name__)

Intake = GroupCommit[Register, RegisteredOut]

# Check for expired personal data this often; erasure is idempotent, so a missed run is
# made up by the next.
RETENTION_CHECK_EVERY = 3600.0


def intake() -> Intake:
    """The group commit every registration goes through (one per app)."""
    return GroupCommit(register_batch)


async def _apply_retention(runtime: Runtime) -> None:
    count = await erase_expired(runtime.db, runtime.settings)
    if count:
        log.info("erased the personal data of %d registrations after retention", count)
    count = await certificates.erase_expired(runtime.db, runtime.settings)
    if count:
        log.info("erased %d certificates' verification records after retention", count)


retention = periodic("retention", RETENTION_CHECK_EVERY, _apply_retention)


async def _apply_letter_retention(runtime: Runtime) -> None:
    count = await erase_expired_letters(runtime.db, runtime.settings)
    if count:
        log.info("erased %d visa letters 30 days after their training", count)


# Passport details go 30 days after the training's last day (checked hourly, like the rest).
letter_retention = periodic("letter retention", RETENTION_CHECK_EVERY, _apply_letter_retention)


# Offers are due when a place frees up or nominations close: a pass after a commit of this
# process or a move of the clock (tests), else once a minute.
nomination_offers = on_change("nomination offers", offer_waiting, spacing=0.5, idle=60.0)
