"""CPU of each process of an idle `capitals up`: the three services and nats-server.

Run: .venv/bin/python bench/idle_cpu.py [--seconds 60] [--settle 10]
Starts `capitals up` in a fresh data directory on free ports, waits for every /ready, lets it
settle, then reads each process's CPU time (user + system, /proc/PID/stat) at the start and
the end of the window and prints the share of one core each used.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.embedded import capitals_up

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    # Fields after the command (which may hold spaces) in /proc/PID/stat: utime is the 14th
    # field of the line, stime the 15th.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=10.0)
    args = parser.parse_args()
    with capitals_up() as up:
        up.wait_ready()
        time.sleep(args.settle)
        pids = up.processes()
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        started = time.monotonic()
        time.sleep(args.seconds)
        elapsed = time.monotonic() - started
        after = {name: cpu_seconds(pid) for name, pid in pids.items()}
    print(f"idle CPU over {elapsed:.0f} s (share of one core)")
    print(f"{'process':<14} {'cpu s':>7} {'cpu %':>7}")
    for name in sorted(pids):
        used = after[name] - before[name]
        print(f"{name:<14} {used:>7.2f} {100 * used / elapsed:>6.2f}%")


if __name__ == "__main__":
    main()
