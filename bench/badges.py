"""Time to make a training's badge sheet for 200 confirmed participants (target < 2 s).

Run: .venv/bin/python bench/badges.py [--participants 200] [--runs 5]
Two figures: drawing the sheet alone (services/registration/badges.py: fpdf2, DejaVu, one
segno QR code a badge), and `GET /trainings/{id}/badges.pdf` served by registration (the
tests' running_system: a real broker and SQLite), requested through the ASGI interface, so
the time is the server's: the guard, the query, the drawing, without a network between.
Prints the median and the slowest run of each, and the size of the file.
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

from services.registration.badges import Badge, badge_sheet
from services.registration.domain import new_check_in_code
from tests.registration_support import open_training, person, register
from tests.support import remove_tree, running_system

TITLE = "Trafficking in human beings: consular and diplomatic staff of the CBSS"
COUNTRIES = ["EE", "LV", "LT", "FI", "SE", "DK", "DE", "PL", "NO", "IS"]


def rendered(participants: int, runs: int) -> tuple[list[float], int]:
    badges = [
        Badge(
            f"Participant Number {n} Väärtõ-Константинопольская",
            "Ministry of Foreign Affairs, Consular Department, Division of Visa Affairs",
            COUNTRIES[n % len(COUNTRIES)],
            new_check_in_code(),
        )
        for n in range(participants)
    ]
    times, size = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        size = len(badge_sheet(TITLE, badges))
        times.append(time.perf_counter() - started)
    return times, size


async def served(participants: int, runs: int) -> tuple[list[float], int]:
    directory = Path(tempfile.mkdtemp(prefix="capitals-bench-badges-"))
    try:
        async with running_system(directory, services=("registration",)) as system:
            training = await open_training(
                system.nats.url, system.registration, capacity=participants, title=TITLE
            )
            staff = system.token("organiser", ["EE"])
            for n in range(participants):
                body = person(n, country=COUNTRIES[n % len(COUNTRIES)])
                await register(system.registration, training.id, body, headers=staff)
            times, size = [], 0
            for _ in range(runs):
                started = time.perf_counter()
                answer = await system.registration.get(
                    f"/trainings/{training.id}/badges.pdf", headers=staff
                )
                times.append(time.perf_counter() - started)
                assert answer.status_code == 200, answer.text
                size = len(answer.content)
            return times, size
    finally:
        remove_tree(directory)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--participants", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    rows = [
        ("drawing the sheet", *rendered(options.participants, options.runs)),
        ("GET badges.pdf", *asyncio.run(served(options.participants, options.runs))),
    ]
    print(f"\nbadge sheet of {options.participants} participants, {options.runs} runs")
    print(f"{'':20} {'median s':>9} {'slowest s':>10} {'pages':>6} {'KiB':>7}")
    pages = -(-options.participants // 8)
    for what, times, size in rows:
        print(
            f"{what:20} {statistics.median(times):9.2f} {max(times):10.2f}"
            f" {pages:6d} {size / 1024:7.0f}"
        )


if __name__ == "__main__":
    main()
