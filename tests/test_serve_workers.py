"""`capitals serve registration --workers 2`: two processes behind one port, on SQLite and
PostgreSQL; registrations stay exact across them, /metrics covers both, and the parent
stops them all."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
from contextlib import suppress
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry, multiprocess
from prometheus_client.parser import text_string_to_metric_families

from tests.registration_support import (
    Served,
    person,
    post_json,
    publish,
    served_registration,
)
from tests.registration_support import training_event as a_training
from tests.support import eventually, staff_headers

RUSH = 200
SEATS = 20


def _served_by_pid(metrics_dir: Path, scratch: Path, method: str, status: str) -> dict[int, float]:
    """HTTP requests each worker process counted, read from its own files in the
    prometheus-client multiprocess directory (one set of files per pid)."""
    pids = {int(path.stem.rsplit("_", 1)[1]) for path in metrics_dir.glob("counter_*.db")}
    served: dict[int, float] = {}
    for pid in pids:
        alone = scratch / f"pid-{pid}"
        shutil.rmtree(alone, ignore_errors=True)
        alone.mkdir(parents=True)
        for path in metrics_dir.glob(f"*_{pid}.db"):
            shutil.copy(path, alone / path.name)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(alone))
        served[pid] = sum(
            sample.value
            for family in registry.collect()
            if family.name == "capitals_http_requests"
            for sample in family.samples
            if sample.name == "capitals_http_requests_total"
            and sample.labels["method"] == method
            and sample.labels["status_code"] == status
        )
    return served


def _children(parent: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{parent}/task").iterdir():
        with suppress(FileNotFoundError):  # a thread that has just ended
            found |= {int(pid) for pid in (task / "children").read_text().split()}
    return found


def _workers_of(parent: int) -> set[int]:
    """The parent's worker processes (not multiprocessing's resource tracker)."""
    found = set()
    for pid in _children(parent):
        with suppress(FileNotFoundError):  # reaped meanwhile
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.add(pid)
    return found


def _metrics_dir_of(pid: int) -> str:
    """The PROMETHEUS_MULTIPROC_DIR a process was started with."""
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    given = next(v for v in environ if v.startswith(b"PROMETHEUS_MULTIPROC_DIR="))
    return given.split(b"=", 1)[1].decode()


def _live_gauges_of(metrics_dir: str, pid: int) -> list[Path]:
    return list(Path(metrics_dir).glob(f"gauge_live*_{pid}.db"))


def _is_dir(path: str) -> bool:
    return Path(path).is_dir()


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


async def _stopped_by(signum: int, served: Served, workers: set[int]) -> None:
    """`signum` to the parent stops every worker and then the parent, which exits with 0."""
    served.process.send_signal(signum)
    try:
        code = await asyncio.to_thread(served.process.wait, 20)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"still running:\n{served.log.read_text()}") from None
    assert code == 0, served.log.read_text()
    assert not [pid for pid in workers if _alive(pid)]


async def _both_workers_serve(url: str, metrics_dir: Path, scratch: Path) -> None:
    """Until each worker has answered /health at least once (the second may still be
    starting when the first answers /ready)."""

    async def both() -> bool:
        await asyncio.gather(*(post_less_get(url) for _ in range(20)))
        served = _served_by_pid(metrics_dir, scratch, "GET", "200")
        assert len([pid for pid, count in served.items() if count > 0]) == 2, served
        return True

    await eventually(both, timeout=30)


async def post_less_get(url: str) -> None:
    # A connection of its own each time, so that either worker may take it.
    async with httpx.AsyncClient(base_url=url) as client:
        assert (await client.get("/health")).status_code == 200


async def test_two_workers_on_one_port_keep_a_rush_exact_and_count_every_request(
    tmp_path: Path, db_kind: str
) -> None:
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    # Left from an earlier run: emptied at start, or its counts would be added in.
    (metrics_dir / "counter_1.db").write_bytes(b"stale")
    scratch = tmp_path / "by-pid"
    async with served_registration(
        tmp_path, db_kind, workers=2, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)
    ) as served:
        parent = served.process
        assert not (metrics_dir / "counter_1.db").exists()
        await _both_workers_serve(served.url, metrics_dir, scratch)
        # The processes that answered are the parent's children (it has one more,
        # multiprocessing's resource tracker).
        workers = set(_served_by_pid(metrics_dir, scratch, "GET", "200"))
        assert len(workers) == 2 and workers <= _children(parent.pid), workers

        training = a_training(capacity=SEATS)
        await publish(served.nats_url, training)
        async with httpx.AsyncClient(base_url=served.url, timeout=60) as client:

            async def listed() -> bool:
                items = (await client.get("/trainings")).json()["items"]
                return training.id in {item["id"] for item in items}

            await eventually(listed, timeout=20)

            path = f"/trainings/{training.id}/registrations"
            answers = await asyncio.gather(
                *(post_json(served.url, path, person(n)) for n in range(RUSH))
            )
            assert {status for status, _ in answers} == {201}, [
                body for status, body in answers if status != 201
            ][:3]
            bodies = [body for _, body in answers]
            assert sum(body["status"] == "confirmed" for body in bodies) == SEATS
            assert sorted(
                body["waitlist_position"] for body in bodies if body["status"] == "waitlisted"
            ) == list(range(1, RUSH - SEATS + 1))

            stored = await client.get(path, headers=staff_headers(), params={"limit": 2000})
            assert stored.status_code == 200, stored.text
            items = stored.json()["items"]
            assert [item["status"] for item in items] == ["confirmed"] * SEATS + ["waitlisted"] * (
                RUSH - SEATS
            )
            assert [item["waitlist_position"] for item in items[SEATS:]] == list(
                range(1, RUSH - SEATS + 1)
            )

            # Both worker processes took registrations, and no other process did.
            by_pid = _served_by_pid(metrics_dir, scratch, "POST", "201")
            assert set(by_pid) == workers, (by_pid, workers)
            assert all(count > 0 for count in by_pid.values()), by_pid
            assert sum(by_pid.values()) == RUSH

            # /metrics from the one port, whichever worker answers, counts them all.
            for _ in range(4):
                scraped = await client.get("/metrics")
                assert scraped.status_code == 200
                posted = sum(
                    sample.value
                    for family in text_string_to_metric_families(scraped.text)
                    if family.name == "capitals_http_requests"
                    for sample in family.samples
                    if sample.name == "capitals_http_requests_total"
                    and sample.labels["method"] == "POST"
                    and sample.labels["status_code"] == "201"
                )
                assert posted == RUSH

        # SIGTERM to the parent stops both workers and then the parent, cleanly.
        await _stopped_by(signal.SIGTERM, served, workers)
        # Each worker was marked dead: its live gauges (requests in progress) are gone.
        assert not list(metrics_dir.glob("gauge_live*.db"))


async def test_a_killed_worker_is_replaced_and_sigint_stops_them_all_and_removes_the_metrics(
    tmp_path: Path,
) -> None:
    async with served_registration(tmp_path, workers=2) as served:
        parent = served.process

        def started() -> set[int]:
            found = _workers_of(parent.pid)
            assert len(found) == 2, found
            return found

        workers = await eventually(lambda: asyncio.to_thread(started), timeout=20)
        metrics_dir = _metrics_dir_of(min(workers))
        assert _is_dir(metrics_dir)
        await _both_workers_serve(served.url, Path(metrics_dir), tmp_path / "by-pid")
        killed = min(workers)
        assert _live_gauges_of(metrics_dir, killed)

        os.kill(killed, signal.SIGKILL)

        async def replaced() -> set[int]:
            now = await asyncio.to_thread(started)
            assert killed not in now
            return now

        workers = await eventually(replaced, timeout=20)
        # The supervisor marked it dead: its requests in progress leave the sum.
        assert not _live_gauges_of(metrics_dir, killed)
        await _both_workers_serve(served.url, Path(metrics_dir), tmp_path / "by-pid")

        await _stopped_by(signal.SIGINT, served, workers)
        assert not _is_dir(metrics_dir)
