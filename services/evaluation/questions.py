"""The core question bank, version 1: the same questions in every edition, so results compare."""

from __future__ import annotations

from typing import Any

CORE_V1: list[dict[str, Any]] = [
    {
        "id": "overall",
        "kind": "likert",
        "text": "Overall, how satisfied are you with the training?",
        "level": 1,
        "required": True,
    },
    {
        "id": "recommend",
        "kind": "nps",
        "text": "How likely are you to recommend this training to a colleague?",
        "level": 1,
        "required": True,
    },
    {
        "id": "comments",
        "kind": "text",
        "text": "What should we keep or change?",
        "level": 1,
        "required": False,
    },
]
