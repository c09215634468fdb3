"""Convergence after faults on deploy/loopback.py's topology (three NATS nodes, PostgreSQL,
two registration and two scheduling instances, one evaluation).

Run: .venv/bin/python bench/convergence.py [--runs 3] [--people 400] [--outage 60]
Needs PostgreSQL at 127.0.0.1:5432 (user postgres, trust). Each run registers `--people` for
50 seats over both registration instances and, after three quarters of them have an answer,
SIGKILLs the NATS node leading the registration stream and one registration instance, and
starts both again a second later. It prints, per run, when the stream had a leader again
and when every instance was ready, every event published and consumed and scheduling held
what registration holds (seconds after the kill). With --outage S it then stops the whole
cluster for S seconds during a run and prints the time to converge after it came back.
Every run is also checked: nothing acknowledged lost, every event applied once.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deploy.loopback import loopback
from tests.fault_support import ride_out, run_through_a_kill, whole_cluster_out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--people", type=int, default=400)
    parser.add_argument("--outage", type=float, default=0, help="whole-cluster outage (s)")
    args = parser.parse_args()
    capacity = 50
    with tempfile.TemporaryDirectory(prefix="capitals-convergence-") as root:
        async with loopback(Path(root), extra_env={"CAPITALS_RATE_LIMIT": "0"}) as topology:
            print(
                f"{'run':>3}  {'people':>6}  {'kill after':>10}  {'new leader':>10}  "
                f"{'converged':>9}  {'after leader':>12}  last in the way"
            )
            for run in range(1, args.runs + 1):
                kill, _ = await run_through_a_kill(
                    topology, args.people, args.people * 3 // 4, capacity
                )
                assert kill.converged is not None
                converged = kill.converged.seconds
                last = kill.converged.timeline[-1][1] if kill.converged.timeline else ""
                print(
                    f"{run:>3}  {args.people:>6}  {kill.at - kill.started:>9.1f}s  "
                    f"{kill.election:>9.1f}s  {converged:>8.1f}s  "
                    f"{converged - kill.election:>11.1f}s  {last}",
                    flush=True,
                )
            if args.outage:
                outage = args.outage
                recovered = await ride_out(topology, lambda: whole_cluster_out(topology, outage))
                print(
                    f"whole cluster down {args.outage:.0f} s: converged {recovered.seconds:.1f} s "
                    "after it came back; nothing lost"
                )


if __name__ == "__main__":
    asyncio.run(main())
