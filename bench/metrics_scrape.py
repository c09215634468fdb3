"""How long a Prometheus scrape of /metrics takes on each service of `capitals up`.

Run: .venv/bin/python bench/metrics_scrape.py [--scrapes 200]
Starts `capitals up` in a fresh data directory on free ports, sends some traffic so that the
HTTP metrics have series, then scrapes each service's /metrics one after another and prints
p50/p95/max and the size of an answer.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.idle_cpu import SERVICES, wait_ready
from capitals.embedded import free_port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scrapes", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        ports = {s: free_port() for s in SERVICES}
        env = dict(os.environ)
        env["CAPITALS_DATA_DIR"] = folder
        env.pop("NATS_URL", None)
        for service, port in ports.items():
            env[f"{service.upper()}_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
        process = subprocess.Popen(
            [sys.executable, "-m", "capitals.cli", "up"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        rows = []
        try:
            wait_ready(ports)
            with httpx.Client(timeout=10) as client:
                for service, port in ports.items():
                    base = f"http://127.0.0.1:{port}"
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
                    rows.append(
                        (
                            service,
                            statistics.median(times) * 1000,
                            times[int(len(times) * 0.95) - 1] * 1000,
                            times[-1] * 1000,
                            size,
                        )
                    )
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)
    print(f"/metrics scrape time over {args.scrapes} scrapes per service")
    print(f"{'service':<14} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'bytes':>7}")
    for service, p50, p95, worst, size in rows:
        print(f"{service:<14} {p50:>7.1f} {p95:>7.1f} {worst:>7.1f} {size:>7}")


if __name__ == "__main__":
    main()
