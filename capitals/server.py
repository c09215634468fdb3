"""The HTTP server `capitals serve` runs: uvicorn, quieter when idle; with `--workers N`,
N worker processes under uvicorn's supervisor, one port, and one set of metrics."""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import tempfile
from pathlib import Path
from socket import socket
from types import FrameType
from typing import TYPE_CHECKING, Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess
from uvicorn.supervisors.multiprocess import Process

from shared.wakeups import Wakeup

if TYPE_CHECKING:
    from litestar import Litestar

log = logging.getLogger(__name__)


class QuietServer(uvicorn.Server):
    """uvicorn's server, ticking once a second instead of ten times a second (what it does
    on a tick, the Date header, needs no more); a signal to stop ends the wait at once."""

    async def main_loop(self) -> None:
        self._stop_asked = Wakeup()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            # on_tick refreshes the Date header when the counter is a multiple of 10.
            counter = (counter + 10) % 864000
            await self._stop_asked.wait(1.0)
            should_exit = await self.on_tick(counter)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        stop_asked = getattr(self, "_stop_asked", None)
        if stop_asked is not None:
            stop_asked.set()


# --- worker processes ----------------------------------------------------------------
# uvicorn starts each worker as a fresh interpreter (spawn) and builds its app from an
# import string: these factories read the settings and set up logging there.


def worker_app(service: str) -> Litestar:
    """One worker's app: the whole service (routes, consumers, relay, mail, jobs)."""
    from capitals.system import SECTIONS
    from shared import logs
    from shared.settings import load_settings

    settings = load_settings(sections=SECTIONS)
    logs.configure(service, settings.log_level)
    module = importlib.import_module(f"services.{service}.app")
    app: Litestar = module.app(settings)
    return app


def registration() -> Litestar:
    return worker_app("registration")


def scheduling() -> Litestar:
    return worker_app("scheduling")


def evaluation() -> Litestar:
    return worker_app("evaluation")


class QuietWorker(Process):
    """One worker process of uvicorn's supervisor, serving with QuietServer."""

    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            self._server = QuietServer(config=self.config)
        return self._server


class Workers(Multiprocess):
    """uvicorn's supervisor (one listening socket shared by the workers; SIGINT/SIGTERM stop
    them all; a dead worker is replaced; SIGHUP replaces them one by one; SIGTTIN/SIGTTOU add
    or remove one), with QuietWorker processes, and telling prometheus-client when a worker
    has gone so that its live gauges leave the sums.

    The methods that start a worker are uvicorn 0.54's, with QuietWorker for its Process."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket], metrics_dir: str) -> None:
        super().__init__(config, sockets)
        self.metrics_dir = metrics_dir
        self._known: set[int] = set()

    def _started(self) -> QuietWorker:
        process = QuietWorker(self.config, self.sockets)
        process.start()
        return process

    def init_processes(self) -> None:
        self.processes = [self._started() for _ in range(self.processes_num)]
        self._known = self._pids()

    def keep_subprocess_alive(self) -> None:
        # Runs every half second, after any signal was handled (a restart, one worker
        # fewer): whatever pid has left the list since then is gone.
        if not self.should_exit.is_set():
            for index, process in enumerate(self.processes):
                if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                    continue
                process.kill()  # hung, or dead already
                process.join()
                if process.exitcode == STARTUP_FAILURE:
                    # Broken settings, app or socket: every restart would fail alike.
                    log.error("worker %s failed to start; stopping", process.pid)
                    self.should_exit.set()
                    break
                if self.should_exit.is_set():
                    break
                log.info("worker %s died; starting another", process.pid)
                self.processes[index] = self._started()
        alive = self._pids()
        self._bury(self._known - alive)
        self._known = alive

    def restart_all(self) -> None:
        for index, old in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            new = self._started()
            if not new.wait_until_ready(self.config.timeout_worker_healthcheck, self.should_exit):
                new.kill()
                new.join()
                if not self.should_exit.is_set():
                    log.error("worker %s not ready in time; keeping %s", new.pid, old.pid)
                return
            old.terminate()
            old.join()
            self.processes[index] = new

    def handle_ttin(self) -> None:
        log.info("Received SIGTTIN, one worker more.")
        self.processes_num += 1
        self.processes.append(self._started())

    def run(self) -> None:
        try:
            super().run()
        finally:
            self._bury(self._known | self._pids())

    @property
    def failed_to_start(self) -> bool:
        return any(process.exitcode == STARTUP_FAILURE for process in self.processes)

    def _pids(self) -> set[int]:
        return {process.pid for process in self.processes if process.pid is not None}

    def _bury(self, pids: set[int]) -> None:
        from prometheus_client import multiprocess

        for pid in pids:
            multiprocess.mark_process_dead(pid, self.metrics_dir)


def serve_workers(service: str, workers: int, **options: Any) -> int:
    """Run `workers` processes of `service` on one port until SIGINT or SIGTERM; the exit
    status. `options` are uvicorn.Config's."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        # The operator's directory: emptied, as files of an earlier run would be added in.
        metrics_dir = Path(given)
        metrics_dir.mkdir(parents=True, exist_ok=True)
        for stale in metrics_dir.glob("*.db"):
            stale.unlink()
    else:
        metrics_dir = Path(tempfile.mkdtemp(prefix=f"capitals-{service}-metrics-"))
    # Before the workers start: prometheus-client reads it when a worker imports it.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    config = uvicorn.Config(f"capitals.server:{service}", factory=True, workers=workers, **options)
    listening = config.bind_socket()
    supervisor = Workers(config, [listening], str(metrics_dir))
    try:
        supervisor.run()
    finally:
        listening.close()
        if not given:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return STARTUP_FAILURE if supervisor.failed_to_start else 0
