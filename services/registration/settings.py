"""The registration service's own settings: how long personal data and certificates' records
are kept, and when participants hear of their training (programme changes, the reminder)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar, Self

from shared.settings import Settings, duration


@dataclass(frozen=True)
class RegistrationSettings:
    """REGISTRATION_RETENTION: how long registrations keep personal data after their
    training. CERTIFICATE_RETENTION: how long a certificate keeps its verification record.
    REGISTRATION_CHANGE_QUIET_PERIOD: how long the programme must stay unchanged before
    confirmed participants get one mail summing up the changes.
    REGISTRATION_REMINDER_BEFORE: how long before the training's first day the reminder
    goes out."""

    # Each field's variable and its default (an ISO 8601 duration), named once.
    VARIABLES: ClassVar[dict[str, tuple[str, str]]] = {
        "retention": ("REGISTRATION_RETENTION", "P365D"),
        "certificate_retention": ("CERTIFICATE_RETENTION", "P5Y"),
        "change_quiet_period": ("REGISTRATION_CHANGE_QUIET_PERIOD", "PT10M"),
        "reminder_before": ("REGISTRATION_REMINDER_BEFORE", "P3D"),
    }
    NAMES: ClassVar[tuple[str, ...]] = tuple(name for name, _ in VARIABLES.values())

    retention: timedelta
    # Five years (P5Y; shared.settings counts a year as 365 days).
    certificate_retention: timedelta = timedelta(days=5 * 365)
    change_quiet_period: timedelta = timedelta(minutes=10)
    reminder_before: timedelta = timedelta(days=3)

    @classmethod
    def load(cls, env: Mapping[str, str]) -> Self:
        """Read the settings; SettingError names a bad one."""
        read = {field: duration(env, *variable) for field, variable in cls.VARIABLES.items()}
        return cls(**read)


def own(settings: Settings) -> RegistrationSettings:
    """The registration settings within the settings a service was started with."""
    return settings.section(RegistrationSettings)
