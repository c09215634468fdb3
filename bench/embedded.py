"""`capitals up` for a bench: a fresh data directory, free ports, its processes by name."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from capitals.embedded import free_port

SERVICES = ("registration", "scheduling", "evaluation")


@dataclass
class Up:
    process: subprocess.Popen[bytes]
    ports: dict[str, int]

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def wait_ready(self, timeout: float = 90) -> None:
        """Until every service answers /ready with 200; stops the bench after `timeout`."""
        deadline = time.monotonic() + timeout
        pending = set(self.ports)
        while pending:
            if time.monotonic() > deadline:
                raise SystemExit(f"not ready: {sorted(pending)}")
            for service in list(pending):
                try:
                    if httpx.get(f"{self.url(service)}/ready", timeout=1).status_code == 200:
                        pending.discard(service)
                except httpx.HTTPError:
                    pass
            time.sleep(0.02)

    def processes(self) -> dict[str, int]:
        """The pid of each service, of nats-server and of `capitals up` itself."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        found = {"capitals up": self.process.pid}
        for pid in (int(p) for p in path.read_text().split()) if path.exists() else ():
            command = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
            named = [s for s in SERVICES if f"serve {s}" in command]
            if named:
                found[named[0]] = pid
            elif "nats-server" in command:
                found["nats-server"] = pid
        return found


@contextmanager
def capitals_up() -> Iterator[Up]:
    """`capitals up` with its own broker in a temporary data directory, stopped on exit."""
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
            yield Up(process, ports)
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)
