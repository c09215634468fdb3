"""CPU of each process of an idle `capitals up`: the three services and nats-server.

Run: .venv/bin/python bench/idle_cpu.py [--seconds 60] [--settle 10]
Starts `capitals up` in a fresh data directory on free ports, waits for every /ready, lets it
settle, then reads each process's CPU time (user + system, /proc/PID/stat) at the start and
the end of the window and prints the share of one core each used.
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
TICKS = os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def cpu_seconds(pid: int) -> float:
    # Fields after the command (which may hold spaces) in /proc/PID/stat: utime is the 14th
    # field of the line, stime the 15th.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def name_of(pid: int) -> str:
    command = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    for service in SERVICES:
        if f"serve {service}" in command:
            return service
    return "nats-server" if "nats-server" in command else command[:40]


def wait_ready(ports: dict[str, int], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    pending = set(ports)
    while pending:
        if time.monotonic() > deadline:
            raise SystemExit(f"not ready: {sorted(pending)}")
        for service in list(pending):
            try:
                url = f"http://127.0.0.1:{ports[service]}/ready"
                if httpx.get(url, timeout=1).status_code == 200:
                    pending.discard(service)
            except httpx.HTTPError:
                pass
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=10.0)
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
        try:
            wait_ready(ports)
            time.sleep(args.settle)
            pids = {name_of(pid): pid for pid in children(process.pid)}
            pids["capitals up"] = process.pid
            before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            started = time.monotonic()
            time.sleep(args.seconds)
            elapsed = time.monotonic() - started
            after = {name: cpu_seconds(pid) for name, pid in pids.items()}
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)
    print(f"idle CPU over {elapsed:.0f} s (share of one core)")
    print(f"{'process':<14} {'cpu s':>7} {'cpu %':>7}")
    for name in sorted(pids):
        used = after[name] - before[name]
        print(f"{name:<14} {used:>7.2f} {100 * used / elapsed:>6.2f}%")


if __name__ == "__main__":
    main()
