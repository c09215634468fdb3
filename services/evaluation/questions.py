"""The core question bank, version 1: the same questions in every edition, so results compare.

Version 1 is the data in bank_v1.json and must never change: campaigns that used it keep
reading it. It is read as the database's versions are: the secretariat's edits
(PUT /questions) are stored as versions 2, 3, ... in the same form. Every question
carries its Kirkpatrick level: 1 reaction, 2 learning, 3 behaviour, 4 results.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from services.evaluation import domain
from services.evaluation.domain import Bank

_STORED = msgspec.json.decode((Path(__file__).parent / "bank_v1.json").read_bytes())

CORE_V1 = domain.decode_questions(_STORED["questions"])
FOLLOW_UP_V1 = domain.decode_questions(_STORED["follow_up"])

BANK_V1 = Bank(version=1, questions=CORE_V1, follow_up=FOLLOW_UP_V1)
