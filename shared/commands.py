"""Running one use case: a command gets a unit of work, the settings, who asks, and its input."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from shared.audit import record_command
from shared.db import Database, UnitOfWork
from shared.errors import DomainError
from shared.settings import Settings
from shared.staff import Staff

log = logging.getLogger(__name__)

R = TypeVar("R")

# `async def verb(uow, settings, who, input) -> R`; `who` is None for the public, the
# holder of a link token, or the system (handlers, jobs).
Command = Callable[[UnitOfWork, Settings, Staff | None, Any], Awaitable[R]]


@dataclass(frozen=True)
class OneTraining:
    """The input of a command about one training, named by its id; the inputs of the
    services' commands that also name a training extend it."""

    training_id: str


@dataclass(frozen=True)
class OneRegistration:
    """The input of a command about one registration, named by its id."""

    registration_id: str


async def execute(
    db: Database, command: Command[R], settings: Settings, who: Staff | None, input: Any
) -> R:
    """Run `command` in one unit of work, committed when it returns; a staff member's
    audited command (shared.audit.audited) writes its audit entry in the same unit.

    A failure is logged here too, since a background task (a mail after the answer) has
    no caller to see it; a route's caller still gets the error as problem details."""
    name = getattr(command, "__name__", repr(command))
    try:
        async with db.unit() as uow:
            result = await command(uow, settings, who, input)
            await record_command(uow, command, who, input, result)
            return result
    except DomainError as refusal:
        # A rule said no: the caller's answer, not a fault of ours.
        log.info("command %s refused: %s", name, refusal.message)
        raise
    except Exception:
        log.exception("command %s failed", name)
        raise
