"""The registration service's own settings: how long personal data and certificates' records
are kept."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar, Self

from shared.settings import Settings, duration


@dataclass(frozen=True)
class RegistrationSettings:
    """How long registrations keep personal data after their training (REGISTRATION_RETENTION),
    and certificates their verification record (CERTIFICATE_RETENTION)."""

    NAMES: ClassVar[tuple[str, ...]] = ("REGISTRATION_RETENTION", "CERTIFICATE_RETENTION")

    retention: timedelta
    # About five years (durations are counted in days: years vary in length).
    certificate_retention: timedelta = timedelta(days=1826)

    @classmethod
    def load(cls, env: Mapping[str, str]) -> Self:
        """Read REGISTRATION_RETENTION and CERTIFICATE_RETENTION; SettingError names a bad one."""
        return cls(
            retention=duration(env, "REGISTRATION_RETENTION", "P365D"),
            certificate_retention=duration(env, "CERTIFICATE_RETENTION", "P1826D"),
        )


def own(settings: Settings) -> RegistrationSettings:
    """The registration settings within the settings a service was started with."""
    return settings.section(RegistrationSettings)
