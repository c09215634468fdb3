"""Times rendering one certificate of attendance (target: under 100 ms), and its parts.

Run with `.venv/bin/python bench/certificates.py [repeats] [--check]`; with `--check` it
exits non-zero when the median render costs 100 ms of CPU or more.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from services.registration import pdf
from services.registration.certificate_pdf import render
from shared.i18n import speaking

# The sample training the tests render is built by a helper beside bench/, not in a package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.document_support import sample_training, session

BUDGET = 0.100

TRAINING = sample_training(
    "IS",
    "Trafficking in human beings: the consular response",
    "Reykjavik",
    "Atlantic/Reykjavik",
    [
        session(
            f"Session {n}",
            "break" if n % 4 == 3 else "lecture",
            f"2009-05-2{5 + n // 4}T{9 + n % 4 * 2:02d}:00:00+00:00",
            f"2009-05-2{5 + n // 4}T{10 + n % 4 * 2:02d}:30:00+00:00",
        )
        for n in range(8)
    ],
    language="en",
)
NAMES = ("Anna Jónsdóttir", "Žydrė Ąžuolaitė-Жукова", "Wojciech Świątek")


def certificate(name: str = NAMES[1]) -> bytes:
    return render(
        number="7KQ2-9XDF-M3HT-Q8WN",
        name=name,
        training=TRAINING,
        days=[TRAINING.starts_on, TRAINING.ends_on],
        verification_url="https://capitals.example.org/registration/certificates/7KQ2-9XDF-M3HT-Q8WN",
    )


def whole_fonts() -> bytes:
    document = pdf.document("fonts")
    document.add_page()
    return pdf.as_bytes(document)


def cut_down_fonts() -> bytes:
    document = pdf.document("fonts", covering=NAMES[1])
    document.add_page()
    return pdf.as_bytes(document)


def beyond() -> bytes:
    """A name the cut-down fonts do not cover: the whole fonts are read."""
    return certificate("Жанна Աննա")


def qr_only() -> Any:
    return pdf.qr_png("https://capitals.example.org/registration/certificates/7KQ2-9XDF-M3HT-Q8WN")


def median_seconds(work: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """Median wall time and median CPU time of this process: on a shared machine the CPU
    time is what the work costs, the wall time what a caller waited."""
    work()  # warm: imports, caches
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("repeats", nargs="?", type=int, default=20)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    with speaking("en"):
        rows = [
            ("one certificate (render + output)", median_seconds(certificate, args.repeats)),
            ("  of which: empty A4, cut-down fonts", median_seconds(cut_down_fonts, args.repeats)),
            ("  of which: the QR code as PNG", median_seconds(qr_only, args.repeats)),
            (
                "a name beyond them (whole fonts)",
                median_seconds(beyond, args.repeats),
            ),
            ("  of which: empty A4, whole fonts", median_seconds(whole_fonts, args.repeats)),
        ]
        size = len(certificate())
    print(f"median of {args.repeats} runs; a certificate is {size / 1024:.1f} KiB")
    print(f"{'work':<40} {'wall ms':>8} {'CPU ms':>8}")
    for label, (wall, cpu) in rows:
        print(f"{label:<40} {wall * 1000:>8.1f} {cpu * 1000:>8.1f}")
    over = rows[0][1][1] >= BUDGET
    print(f"budget {BUDGET * 1000:.0f} ms: {'over' if over else 'within'}")
    return 1 if args.check and over else 0


if __name__ == "__main__":
    raise SystemExit(main())
