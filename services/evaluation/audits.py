"""What evaluation's staff actions name in the audit log (shared.audit): the question bank
version or the training acted on."""

from __future__ import annotations

from typing import Any

from services.evaluation.domain import Bank
from services.evaluation.tables import BankRow, TrainingRow
from shared.audit import Target
from shared.db import UnitOfWork


async def bank(uow: UnitOfWork, input: Any, result: tuple[Bank, BankRow | None]) -> Target:
    version, row = result
    detail = {
        "version": version.version,
        "questions": len(version.questions),
        "follow_up": len(version.follow_up),
        "new_version": row is not None,
    }
    return Target("question_bank", str(version.version), detail=detail)


async def _training(uow: UnitOfWork, training_id: str, detail: dict[str, Any]) -> Target:
    row = await uow.session.get(TrainingRow, training_id)
    host = row.host_country if row is not None else None
    return Target("training", training_id, training_id, host, detail)


async def objectives(uow: UnitOfWork, input: Any, result: None) -> Target:
    return await _training(uow, input.training_id, {"objectives": len(input.objectives)})


async def extra_questions(uow: UnitOfWork, input: Any, result: None) -> Target:
    return await _training(uow, input.training_id, {"questions": len(input.questions)})


async def reminders(uow: UnitOfWork, input: Any, result: int) -> Target:
    return await _training(uow, input.training_id, {"reminded": result})
