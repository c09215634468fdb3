"""Server time of the staff pages with many trainings and a training of 2,000 registrations:
scheduling's staff home (an organiser's and the secretariat's view), registration's staff
home, registrations list and check-in search.

Run: .venv/bin/python bench/staff_pages.py [--registrations 2000] [--trainings 120]
     [--runs 30] [--postgres]
Scheduling and registration run in this process (the tests' running_system, a real broker
and databases). The trainings are made through scheduling's API (drafts and published ones
with sessions, across ten host countries); the 2,000 registrations go to registration,
whose events scheduling consumes for the seats, waitlist and pending counts on its staff
home. Each page is requested through the ASGI interface, so the time is the server's:
routing, the session check, the queries and the template, without a network in between.
Prints p50 and p95 per page; the target is under 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.scheduling.tables import EnrolmentRow
from tests.registration_support import in_catalogue, person
from tests.scheduling_support import session_body, training_body
from tests.support import System, eventually, remove_tree, running_system

COUNTRIES = ["EE", "LV", "LT", "FI", "SE", "DK", "DE", "PL", "NO", "IS"]
SESSIONS = 4


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def made(client: Any, path: str, headers: dict[str, str], body: Any = None) -> Any:
    answer = await client.post(path, json=body, headers=headers)
    if answer.status_code not in (200, 201):
        raise SystemExit(f"{path}: {answer.status_code} {answer.text}")
    return answer.json()


async def training(
    system: System, number: int, country: str, publish: bool, **changes: Any
) -> dict[str, Any]:
    """A training with a day of sessions (rooms and speakers of its own), through the API."""
    host = system.token("organiser", [country])
    day = date(2031, 1, 5) + timedelta(days=2 * number)
    body = training_body(day, host_country=country, title=f"Training {number}", **changes)
    created = await made(system.scheduling, "/trainings", host, body)
    for n in range(SESSIONS):
        session = session_body(
            day,
            f"{9 + n:02d}:00",
            f"{9 + n:02d}:45",
            title=f"Session {n + 1}",
            room=f"Room {number}-{n}",
            speakers=[{"name": f"Speaker {number}-{n}"}],
        )
        await made(system.scheduling, f"/trainings/{created['id']}/sessions", host, session)
    if publish:
        await made(system.scheduling, f"/trainings/{created['id']}/publish", host)
    return created  # type: ignore[no-any-return]


async def fill(system: System, trainings: int, registrations: int) -> str:
    """Many trainings (two in five drafts), one of them open with `registrations`, known to
    scheduling from registration's events; the open training's id."""
    big = await training(system, 0, "EE", True, capacity=registrations // 2)
    for number in range(1, trainings):
        await training(system, number, COUNTRIES[number % len(COUNTRIES)], number % 5 >= 2)
    client = system.registration
    await in_catalogue(client, big["id"])
    staff = system.token("organiser", ["EE"])
    path = f"/trainings/{big['id']}/registrations"
    for start in range(0, registrations, 100):
        answers = await asyncio.gather(
            *(
                client.post(
                    path, json=person(n, country=COUNTRIES[n % len(COUNTRIES)]), headers=staff
                )
                for n in range(start, min(start + 100, registrations))
            )
        )
        refused = [a.text for a in answers if a.status_code != 201]
        if refused:
            raise SystemExit(f"registering failed: {refused[0]}")

    async def known() -> int:
        async with system.runtime("scheduling").db.session() as reading:
            rows = await reading.exec(
                select(func.count()).where(col(EnrolmentRow.training_id) == big["id"])
            )
            return int(rows.one())

    async def all_known() -> bool:
        return await system.on_service_loop("scheduling", known) == registrations

    await eventually(all_known, timeout=180, interval=0.5)
    return str(big["id"])


async def measure(client: Any, name: str, url: str, headers: dict[str, str], runs: int) -> None:
    times = []
    size = 0
    for _ in range(runs + 3):
        started = time.perf_counter()
        answer = await client.get(url, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise SystemExit(f"{url}: {answer.status_code}")
        size = len(answer.content)
    times = times[3:]  # warm-up
    p50 = statistics.median(times)
    print(f"{name:<36} {p50:>8.1f} {percentile(times, 0.95):>8.1f} {size:>9}")


async def main(registrations: int, trainings: int, runs: int, kind: str) -> None:
    directory = Path(tempfile.mkdtemp(prefix="capitals-bench-staff-"))
    try:
        services = ("scheduling", "registration")
        async with running_system(directory, kind, services=services) as system:
            training_id = await fill(system, trainings, registrations)
            organiser = system.token("organiser", ["EE"])
            secretariat = system.token("secretariat")
            print(
                f"{trainings} trainings, {registrations} registrations on one, "
                f"{runs} runs each, {kind}"
            )
            print(f"{'page':<36} {'p50 ms':>8} {'p95 ms':>8} {'bytes':>9}")
            scheduling = system.scheduling
            await measure(scheduling, "scheduling home, organiser", "/staff/", organiser, runs)
            await measure(scheduling, "scheduling home, secretariat", "/staff/", secretariat, runs)
            pages = {
                "registration home": "/staff/",
                "registrations list": f"/staff/trainings/{training_id}",
                "list, waitlist view": f"/staff/trainings/{training_id}?status=waitlisted",
                "list, search": f"/staff/trainings/{training_id}?q=participant19",
                "list, country filter": f"/staff/trainings/{training_id}?country=FI",
                "check-in, search": f"/staff/trainings/{training_id}/check-in?q=Finland",
            }
            for name, url in pages.items():
                await measure(system.registration, name, url, organiser, runs)
    finally:
        remove_tree(directory)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--registrations", type=int, default=2000)
    parser.add_argument("--trainings", type=int, default=120)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    kind = "postgres" if args.postgres else "sqlite"
    asyncio.run(main(args.registrations, args.trainings, args.runs, kind))
