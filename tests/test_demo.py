"""`capitals demo` fills a running embedded system with the seed series through its routes."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.test_foundation import _start_up, _stop, run_capitals, up_env


def test_demo_loads_the_seed_series_into_a_running_system(tmp_path: Path) -> None:
    ports, env = up_env(tmp_path)
    process, lines = _start_up(env)
    try:
        staff = {"Authorization": f"Bearer {lines[-2]}"}
        result = run_capitals("demo", env=env, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Reykjavik" in result.stdout

        scheduling = f"http://127.0.0.1:{ports['scheduling']}"
        trainings = httpx.get(f"{scheduling}/trainings", params={"series": "cbss-thb"}).json()
        by_status: dict[str, int] = {}
        for training in trainings["items"]:
            by_status[training["status"]] = by_status.get(training["status"], 0) + 1
        assert by_status == {"completed": 6, "published": 5}

        feed = httpx.get(f"{scheduling}/series/cbss-thb/calendar.ics")
        assert feed.status_code == 200 and feed.text.count("BEGIN:VEVENT") > 60
        assert "STATUS:CANCELLED" in feed.text

        catalogue = httpx.get(f"http://127.0.0.1:{ports['registration']}/trainings").json()
        assert sum(1 for entry in catalogue["items"] if entry["registration_open"]) == 1

        tallinn = next(t for t in trainings["items"] if t["host_country"] == "EE")
        report = httpx.get(
            f"http://127.0.0.1:{ports['evaluation']}/trainings/{tallinn['id']}/report",
            headers=staff,
        ).json()
        assert report["invited"] == 12 and 0 < report["answered"] <= 12

        again = run_capitals("demo", env=env, timeout=60)
        assert again.returncode == 0 and "already loaded" in again.stdout
    finally:
        assert _stop(process) == 0
