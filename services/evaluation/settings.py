"""The evaluation service's own settings: how long a campaign stays open, reminders, follow-up."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar, Self

from shared.settings import Settings, count, duration

# Each setting: the field it fills, its variable, how that is read, and its default. The
# variables are named once, here, for both `NAMES` and `load`.
_READ: tuple[tuple[str, str, Callable[[Mapping[str, str], str, str], Any], str], ...] = (
    ("open_for", "EVALUATION_OPEN_FOR", duration, "P30D"),
    ("reminder_after", "EVALUATION_REMINDER_AFTER", duration, "P7D"),
    ("max_reminders", "EVALUATION_MAX_REMINDERS", count, "2"),
    ("follow_up_after", "EVALUATION_FOLLOW_UP_AFTER", duration, "P90D"),
)


@dataclass(frozen=True)
class EvaluationSettings:
    """Periods of an evaluation campaign, from EVALUATION_* variables."""

    NAMES: ClassVar[tuple[str, ...]] = tuple(name for _, name, _, _ in _READ)

    open_for: timedelta
    reminder_after: timedelta
    max_reminders: int
    follow_up_after: timedelta

    @classmethod
    def load(cls, env: Mapping[str, str]) -> Self:
        """Read the EVALUATION_* variables; SettingError names a bad one."""
        return cls(**{field: read(env, name, default) for field, name, read, default in _READ})


def own(settings: Settings) -> EvaluationSettings:
    """The evaluation settings within the settings a service was started with."""
    return settings.section(EvaluationSettings)
