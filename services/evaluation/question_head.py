"""What names a question wherever it appears: as asked, as the API shows it, in its results."""

from __future__ import annotations

import msgspec


class QuestionHead(msgspec.Struct, kw_only=True):
    """The question's id (stable across bank versions, so results compare), kind, text and
    level, and what a made-for-this-training question is about: its session or objective.

    `domain.Question`, `schemas.QuestionOut` and `schemas.QuestionResult` extend it, so a field
    added here reaches the three at once."""

    id: str
    kind: str
    text: str
    level: int
    session_id: str | None = None
    objective_id: str | None = None
