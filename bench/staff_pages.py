"""Server time of registration's staff pages for a training with 2,000 registrations.

Run: .venv/bin/python bench/staff_pages.py [--registrations 2000] [--runs 30] [--postgres]
The service runs in this process (the tests' running_system, a real broker and database);
each page is requested through the ASGI interface, so the time is the server's: routing,
the session check, the queries and the template, without a network in between. Prints
p50 and p95 per page; the target is under 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.registration_support import open_training, person
from tests.support import remove_tree, running_system

COUNTRIES = ["EE", "LV", "LT", "FI", "SE", "DK", "DE", "PL", "NO", "IS"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main(registrations: int, runs: int, kind: str) -> None:
    directory = Path(tempfile.mkdtemp(prefix="capitals-bench-staff-"))
    try:
        async with running_system(directory, kind, services=("registration",)) as system:
            client = system.registration
            training = await open_training(system.nats.url, client, capacity=registrations // 2)
            staff = system.token("organiser", ["EE"])
            path = f"/trainings/{training.id}/registrations"
            for start in range(0, registrations, 100):
                answers = await asyncio.gather(
                    *(
                        client.post(
                            path,
                            json=person(n, country=COUNTRIES[n % len(COUNTRIES)]),
                            headers=staff,
                        )
                        for n in range(start, min(start + 100, registrations))
                    )
                )
                refused = [a.text for a in answers if a.status_code != 201]
                if refused:
                    raise SystemExit(f"registering failed: {refused[0]}")
            pages = {
                "staff home": "/staff/",
                "registrations list": f"/staff/trainings/{training.id}",
                "list, waitlist view": f"/staff/trainings/{training.id}?status=waitlisted",
                "list, search": f"/staff/trainings/{training.id}?q=participant19",
                "list, country filter": f"/staff/trainings/{training.id}?country=FI",
                "check-in, search": f"/staff/trainings/{training.id}/check-in?q=Finland",
            }
            print(f"{registrations} registrations, {runs} runs each, {kind}")
            print(f"{'page':<24} {'p50 ms':>8} {'p95 ms':>8} {'bytes':>9}")
            for name, url in pages.items():
                times = []
                size = 0
                for _ in range(runs + 3):
                    started = time.perf_counter()
                    answer = await client.get(url, headers=staff)
                    times.append((time.perf_counter() - started) * 1000)
                    if answer.status_code != 200:
                        raise SystemExit(f"{url}: {answer.status_code}")
                    size = len(answer.content)
                times = times[3:]  # warm-up
                p50 = statistics.median(times)
                print(f"{name:<24} {p50:>8.1f} {percentile(times, 0.95):>8.1f} {size:>9}")
    finally:
        remove_tree(directory)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--registrations", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.registrations, args.runs, "postgres" if args.postgres else "sqlite"))
