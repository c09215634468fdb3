"""How long a Prometheus scrape of /metrics takes on each service of `capitals up`.

Run: .venv/bin/python bench/metrics_scrape.py [--scrapes 200]
Starts `capitals up` in a fresh data directory on free ports, sends some traffic so that the
HTTP metrics have series, then scrapes each service's /metrics one after another and prints
p50/p95/max and the size of an answer.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.embedded import capitals_up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scrapes", type=int, default=200)
    args = parser.parse_args()
    rows = []
    with capitals_up() as up, httpx.Client(timeout=10) as client:
        up.wait_ready()
        for service in up.ports:
            base = up.url(service)
            for path in ("/health", "/ready", "/trainings", "/nothing-here", "/login"):
                for _ in range(5):
                    client.get(base + path)
            times = []
            size = 0
            for _ in range(args.scrapes):
                started = time.perf_counter()
                answer = client.get(f"{base}/metrics")
                times.append(time.perf_counter() - started)
                answer.raise_for_status()
                size = len(answer.content)
            times.sort()
            p50, p95 = statistics.median(times) * 1000, times[int(len(times) * 0.95) - 1] * 1000
            rows.append((service, p50, p95, times[-1] * 1000, size))
    print(f"/metrics scrape time over {args.scrapes} scrapes per service")
    print(f"{'service':<14} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'bytes':>7}")
    for service, p50, p95, worst, size in rows:
        print(f"{service:<14} {p50:>7.1f} {p95:>7.1f} {worst:>7.1f} {size:>7}")


if __name__ == "__main__":
    main()
