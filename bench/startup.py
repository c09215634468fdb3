"""Time from `capitals up` to all three /ready, and the memory (RSS) of each idle service.

Run: .venv/bin/python bench/startup.py [--runs 3]
Uses a fresh data directory per run and free ports; prints a table.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.embedded import SERVICES, capitals_up


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def one_run() -> tuple[float, dict[str, float]]:
    started = time.perf_counter()
    with capitals_up() as up:
        up.wait_ready(timeout=60)
        elapsed = time.perf_counter() - started
        time.sleep(5)  # idle
        memory = {name: rss_mb(pid) for name, pid in up.processes().items()}
        return elapsed, memory


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = [one_run() for _ in range(args.runs)]
    print(
        f"| {'run':>3} | {'up -> all /ready (s)':>20} | "
        + " | ".join(f"{s} RSS MB" for s in SERVICES)
        + " | nats-server RSS MB |"
    )
    print("|" + "---|" * (3 + len(SERVICES)))
    for n, (elapsed, memory) in enumerate(results, 1):
        cells = " | ".join(f"{memory.get(s, 0):.0f}" for s in SERVICES)
        print(f"| {n:>3} | {elapsed:>20.2f} | {cells} | {memory.get('nats-server', 0):.0f} |")


if __name__ == "__main__":
    main()
