"""The registration service's own settings: how long personal data is kept."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar, Self

from shared.settings import Settings, duration


@dataclass(frozen=True)
class RegistrationSettings:
    """How long registrations keep personal data after their training (REGISTRATION_RETENTION)."""

    NAMES: ClassVar[tuple[str, ...]] = ("REGISTRATION_RETENTION",)

    retention: timedelta

    @classmethod
    def load(cls, env: Mapping[str, str]) -> Self:
        """Read REGISTRATION_RETENTION; SettingError names it when bad."""
        return cls(retention=duration(env, "REGISTRATION_RETENTION", "P365D"))


def own(settings: Settings) -> RegistrationSettings:
    """The registration settings within the settings a service was started with."""
    return settings.section(RegistrationSettings)
