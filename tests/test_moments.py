"""A moment shown to a participant reads the same everywhere: the capital's time, the zone
named (the registration opening time was "08:00 UTC" in the catalogue and "at 09:00" on
the timetable)."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.clock import clock
from shared.moments import local_moment
from tests.scheduling_support import published_training
from tests.support import System, eventually

OPENS = "Tuesday 10 December 2030, 09:00 (Europe/Tallinn)"


def test_a_moment_is_read_in_the_capitals_time_with_the_zone_named() -> None:
    at = datetime(2030, 12, 10, 7, 0, tzinfo=UTC)
    assert local_moment(at, "Europe/Tallinn") == OPENS
    summer = datetime(2031, 6, 2, 6, 0, tzinfo=UTC)
    assert local_moment(summer, "Europe/Tallinn") == "Monday 2 June 2031, 09:00 (Europe/Tallinn)"
    assert local_moment(datetime(2031, 6, 2, 6, 0), "UTC") == "Monday 2 June 2031, 06:00 (UTC)"


async def test_the_catalogue_and_the_timetable_show_the_opening_time_alike(
    system: System,
) -> None:
    clock.set(datetime(2030, 12, 1, 12, 0, tzinfo=UTC))
    ee = system.token("organiser", ["EE"])
    training, _ = await published_training(
        system, ee, starts_on="2031-01-20", registration_opens_at="2030-12-10T09:00:00"
    )
    timetable = await system.scheduling.get(f"/trainings/{training['id']}/page")
    assert f"Registration opens on {OPENS}." in timetable.text

    async def listed() -> str:
        catalogue = await system.registration.get("/")
        assert f'id="training-{training["id"]}"' in catalogue.text
        return catalogue.text

    catalogue = await eventually(listed, timeout=15)
    assert f"it opens {OPENS}." in catalogue
    assert "UTC" not in catalogue
