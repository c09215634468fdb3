"""Time from `capitals up` to all three /ready, and the memory (RSS) of each idle service.

Run: .venv/bin/python bench/startup.py [--runs 3]
Uses a fresh data directory per run and free ports; prints a table.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from capitals.embedded import free_port

SERVICES = ("registration", "scheduling", "evaluation")


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def command_of(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")


def one_run() -> tuple[float, dict[str, float]]:
    with tempfile.TemporaryDirectory() as folder:
        ports = {s: free_port() for s in SERVICES}
        env = dict(os.environ)
        env["CAPITALS_DATA_DIR"] = folder
        for service, port in ports.items():
            env[f"{service.upper()}_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "capitals.cli", "up"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            pending = set(SERVICES)
            while pending and time.perf_counter() - started < 60:
                for service in list(pending):
                    try:
                        if (
                            httpx.get(
                                f"http://127.0.0.1:{ports[service]}/ready", timeout=1
                            ).status_code
                            == 200
                        ):
                            pending.discard(service)
                    except httpx.HTTPError:
                        pass
                time.sleep(0.02)
            elapsed = time.perf_counter() - started
            time.sleep(5)  # idle
            memory = {}
            for pid in children(process.pid):
                cmd = command_of(pid)
                for service in SERVICES:
                    if f"serve {service}" in cmd:
                        memory[service] = rss_mb(pid)
                if "nats-server" in cmd:
                    memory["nats-server"] = rss_mb(pid)
            return elapsed, memory
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)


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
