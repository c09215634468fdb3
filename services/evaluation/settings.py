"""The evaluation service's own settings: how long a campaign stays open, reminders, follow-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar, Self

from shared.settings import Settings, count, duration


@dataclass(frozen=True)
class EvaluationSettings:
    """Periods of an evaluation campaign, from EVALUATION_* variables."""

    NAMES: ClassVar[tuple[str, ...]] = (
        "EVALUATION_OPEN_FOR",
        "EVALUATION_REMINDER_AFTER",
        "EVALUATION_MAX_REMINDERS",
        "EVALUATION_FOLLOW_UP_AFTER",
    )

    open_for: timedelta
    reminder_after: timedelta
    max_reminders: int
    follow_up_after: timedelta

    @classmethod
    def load(cls, env: Mapping[str, str]) -> Self:
        """Read the EVALUATION_* variables; SettingError names a bad one."""
        return cls(
            open_for=duration(env, "EVALUATION_OPEN_FOR", "P30D"),
            reminder_after=duration(env, "EVALUATION_REMINDER_AFTER", "P7D"),
            max_reminders=count(env, "EVALUATION_MAX_REMINDERS", "2"),
            follow_up_after=duration(env, "EVALUATION_FOLLOW_UP_AFTER", "P90D"),
        )


def own(settings: Settings) -> EvaluationSettings:
    """The evaluation settings within the settings a service was started with."""
    return settings.section(EvaluationSettings)
