"""Each service's own settings: sections checked at start-up, one line naming a bad one."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from capitals.system import SECTIONS, SETTING_NAMES
from services.evaluation.settings import EvaluationSettings
from services.evaluation.settings import own as evaluation_settings
from services.registration.settings import RegistrationSettings
from services.registration.settings import own as registration_settings
from shared.service import ServiceSpec, create_app
from shared.settings import SettingError, load_settings, parse_duration


def test_a_section_reads_its_own_variables(tmp_path: Path) -> None:
    env = {"CAPITALS_DATA_DIR": str(tmp_path), "EVALUATION_OPEN_FOR": "P14D"}
    settings = load_settings(env, sections=SECTIONS)
    assert evaluation_settings(settings) == EvaluationSettings(
        open_for=timedelta(days=14),
        reminder_after=timedelta(days=7),
        max_reminders=2,
        follow_up_after=timedelta(days=90),
    )
    assert registration_settings(settings).retention == timedelta(days=365)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("EVALUATION_OPEN_FOR", "two weeks"),
        ("EVALUATION_MAX_REMINDERS", "-1"),
        ("REGISTRATION_RETENTION", "P1.5D"),
        ("CERTIFICATE_RETENTION", "5 years"),
    ],
)
def test_a_bad_section_setting_is_named_in_one_line(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(SettingError, match=f"^{name}: ") as refused:
        load_settings({"CAPITALS_DATA_DIR": str(tmp_path), name: value}, sections=SECTIONS)
    assert "\n" not in str(refused.value)


def test_years_and_months_count_365_and_30_days() -> None:
    # DESIGN.md gives CERTIFICATE_RETENTION as P5Y: a retention period needs no calendar.
    assert parse_duration("X", "P5Y") == timedelta(days=1825)
    assert parse_duration("X", "P1Y2M3DT4H") == timedelta(days=365 + 60 + 3, hours=4)
    settings = load_settings({"CAPITALS_DATA_DIR": "/nonexistent"})
    assert registration_settings(settings).certificate_retention == timedelta(days=1825)


def test_a_service_whose_own_settings_are_bad_is_not_made(tmp_path: Path) -> None:
    settings = load_settings({"CAPITALS_DATA_DIR": str(tmp_path), "REGISTRATION_RETENTION": "x"})
    spec = ServiceSpec(
        name="registration", title="Test", route_handlers=[], settings=RegistrationSettings
    )
    with pytest.raises(SettingError, match=r"^REGISTRATION_RETENTION: "):
        create_app(spec, settings)


def test_every_section_name_is_a_setting() -> None:
    assert {"REGISTRATION_RETENTION", "EVALUATION_FOLLOW_UP_AFTER", "NATS_URL"} <= set(
        SETTING_NAMES
    )
    assert len(SETTING_NAMES) == len(set(SETTING_NAMES))
