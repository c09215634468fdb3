"""The whole system as deployed: each service's own settings, and every setting there is."""

from __future__ import annotations

from services.evaluation.settings import EvaluationSettings
from services.registration.settings import RegistrationSettings
from shared import settings as common
from shared.settings import Section

# Checked at start-up whichever service starts, so one `.env` is wrong for all alike.
SECTIONS: tuple[type[Section], ...] = (RegistrationSettings, EvaluationSettings)

# Every setting the services read; compose.yaml is checked against this list.
SETTING_NAMES: tuple[str, ...] = common.SETTING_NAMES + tuple(
    name for section in SECTIONS for name in section.NAMES
)
