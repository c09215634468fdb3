"""`capitals backup` while `capitals up` runs under load, and `capitals restore` into a new
data directory: every registration acknowledged before the backup began comes back, with
its effects in scheduling and evaluation, and nothing is applied twice."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections import Counter
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from nats.js.errors import NotFoundError

from capitals import backup as backups
from capitals.polling import poll
from shared.migrations import upgrade
from shared.settings import SERVICES, load_settings
from tests.scheduling_support import session_body, training_body, uid_of, vevents
from tests.support import NatsServer
from tests.test_foundation import _start_up, _stop, clean_env, run_capitals, up_env

PARTICIPANT = {
    "organisation": "Ministry of Foreign Affairs of Estonia",
    "country": "EE",
    "consent": True,
}


def _published_training(base: str, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"}
    body = training_body("2031-03-10", capacity=10_000)
    training = httpx.post(f"{base}/trainings", json=body, headers=headers, timeout=10)
    assert training.status_code == 201, training.text
    training_id = training.json()["id"]
    session = httpx.post(
        f"{base}/trainings/{training_id}/sessions",
        json=session_body("2031-03-10", speakers=[]),
        headers=headers,
        timeout=10,
    )
    assert session.status_code == 201, session.text
    published = httpx.post(f"{base}/trainings/{training_id}/publish", headers=headers, timeout=10)
    assert published.status_code == 200, published.text
    return published.json(), session.json()


def _wait_until(check: Any, timeout: float, what: str) -> Any:
    last = poll(check, timeout, interval=0.2)
    if not last:
        raise AssertionError(f"{what}: not within {timeout} s (last: {last!r})")
    return last


class Registering(threading.Thread):
    """Registers participants one after another until stopped, noting when each was
    acknowledged (201)."""

    def __init__(self, base: str, training_id: str) -> None:
        super().__init__(daemon=True)
        self.base = base
        self.training_id = training_id
        self.stop = threading.Event()
        self.acknowledged: list[tuple[float, dict[str, Any]]] = []

    def run(self) -> None:
        number = 0
        with httpx.Client(timeout=10) as client:
            while not self.stop.is_set():
                number += 1
                response = client.post(
                    f"{self.base}/trainings/{self.training_id}/registrations",
                    json={
                        **PARTICIPANT,
                        "name": f"Participant {number}",
                        "email": f"participant{number}@example.org",
                    },
                )
                if response.status_code == 201:
                    self.acknowledged.append((time.monotonic(), response.json()))


def test_a_backup_under_load_restores_every_acknowledged_registration_once(
    tmp_path: Path,
) -> None:
    ports, env = up_env(tmp_path / "before")
    env["CAPITALS_RATE_LIMIT"] = "0"
    url = {service: f"http://127.0.0.1:{port}" for service, port in ports.items()}
    backup_dir = tmp_path / "backup"
    process, lines = _start_up(env)
    try:
        training, session = _published_training(url["scheduling"], lines[-2])
        _wait_until(
            lambda: (
                httpx.get(f"{url['registration']}/trainings/{training['id']}").status_code == 200
            ),
            20,
            "registration learns of the training",
        )
        load = Registering(url["registration"], training["id"])
        load.start()
        _wait_until(lambda: len(load.acknowledged) >= 20, 30, "registrations under way")
        began = time.monotonic()
        result = run_capitals("backup", str(backup_dir), env=env)
        ended = time.monotonic()
        # Registrations go on after the backup, and are not in it.
        time.sleep(0.5)
        load.stop.set()
        load.join(timeout=15)
    finally:
        assert _stop(process) == 0
    assert result.returncode == 0, result.stdout + result.stderr
    assert "REGISTRATION" in result.stdout and "writes held for" in result.stdout
    before = [body for at, body in load.acknowledged if at < began]
    during = [body for at, body in load.acknowledged if began <= at <= ended]
    assert len(before) >= 20 and during, "the backup ran while registrations went on"

    ports, restored_env = up_env(tmp_path / "after")
    restored = run_capitals("restore", str(backup_dir), env=restored_env)
    assert restored.returncode == 0, restored.stdout + restored.stderr

    # A data directory that is not empty is refused, and named.
    again = run_capitals("restore", str(backup_dir), env=restored_env)
    data_dir = restored_env["CAPITALS_DATA_DIR"]
    assert again.returncode == 2
    assert again.stderr.strip() == (
        f"capitals: {data_dir} is not empty; restore needs an empty data directory"
    )

    url = {service: f"http://127.0.0.1:{port}" for service, port in ports.items()}
    process, lines = _start_up(restored_env)
    try:
        # The restored secret: the old system's links and tokens still hold.
        staff = {"Authorization": f"Bearer {lines[-2]}"}
        listed = httpx.get(
            f"{url['registration']}/trainings/{training['id']}/registrations",
            headers=staff,
            timeout=10,
        )
        assert listed.status_code == 200, listed.text
        present = Counter(item["id"] for item in listed.json()["items"])
        missing = [body["id"] for body in before if body["id"] not in present]
        assert missing == [], f"{len(missing)} acknowledged registrations lost"
        assert max(present.values()) == 1
        assert all(item["status"] == "confirmed" for item in listed.json()["items"])

        # The secret came back: a manage link the old system sent still opens.
        first = before[0]
        managed = httpx.get(
            f"{url['registration']}/registrations/{first['id']}",
            headers={"X-Manage-Token": first["manage_token"]},
            timeout=10,
        )
        assert managed.status_code == 200, managed.text

        # Scheduling: each participant's own feed lists the session, once everything the
        # backup held has been delivered.
        uid = uid_of(session["id"])

        def feed_lists_the_session(body: dict[str, Any]) -> bool:
            path = "/" + body["calendar_url"].split("://", 1)[1].split("/", 1)[1]
            response = httpx.get(f"{url['scheduling']}{path}", timeout=10)
            return response.status_code == 200 and uid in vevents(response.content)

        for body in before:
            _wait_until(lambda b=body: feed_lists_the_session(b), 30, "the personal feed")

        # What the copies' outboxes held back (published while the streams were copied)
        # goes out again.
        def outboxes_drained() -> bool:
            for service in ("registration", "scheduling", "evaluation"):
                with sqlite3.connect(Path(data_dir) / f"{service}.sqlite3") as db:
                    query = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
                    if db.execute(query).fetchone()[0]:
                        return False
            return True

        _wait_until(outboxes_drained, 15, "the outboxes published")
    finally:
        assert _stop(process) == 0

    # The secret and the mail files, as they were.
    old_data = Path(env["CAPITALS_DATA_DIR"])
    directory = Path(data_dir)
    assert (directory / "secret").read_text() == (old_data / "secret").read_text()
    assert oct((directory / "secret").stat().st_mode & 0o777) == "0o600"
    backed_up = {path.name for path in (backup_dir / "mail").glob("*.eml")}
    assert backed_up <= {path.name for path in (old_data / "mail").glob("*.eml")}
    assert backed_up and backed_up <= {path.name for path in (directory / "mail").glob("*.eml")}

    # Nothing applied twice: one enrolment per registration in scheduling, and each
    # registration in it is one the restored registration database holds.
    with sqlite3.connect(directory / "scheduling.sqlite3") as scheduling:
        enrolled = Counter(
            row[0]
            for row in scheduling.execute(
                "SELECT registration_id FROM enrolment WHERE training_id = ?", (training["id"],)
            )
        )
    assert set(enrolled) == set(present) and max(enrolled.values()) == 1
    # Evaluation: the training and its session, from scheduling's events, once each.
    with sqlite3.connect(directory / "evaluation.sqlite3") as evaluation:
        trainings = evaluation.execute(
            "SELECT count(*) FROM training WHERE id = ?", (training["id"],)
        ).fetchone()[0]
        sessions = evaluation.execute(
            "SELECT count(*) FROM session WHERE id = ?", (session["id"],)
        ).fetchone()[0]
    assert (trainings, sessions) == (1, 1)


def test_restore_refuses_an_interrupted_backup(tmp_path: Path) -> None:
    interrupted = tmp_path / "backup"
    (interrupted / "streams").mkdir(parents=True)
    env = clean_env(tmp_path)
    result = run_capitals("restore", str(interrupted), env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"capitals: {interrupted} is not a complete backup (no manifest.json)"
    )
    assert not (tmp_path / "data").exists()


def test_backup_without_a_running_system_says_where_it_looked(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    assert run_capitals("migrate", env=env).returncode == 0
    result = run_capitals("backup", str(tmp_path / "backup"), env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"capitals: no broker running for {tmp_path / 'data'} "
        "(start `capitals up` there, or set NATS_URL)"
    )


def test_backup_leaves_postgresql_to_its_own_tools(tmp_path: Path) -> None:
    env = clean_env(
        tmp_path, SCHEDULING_DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1/none"
    )
    (tmp_path / "data").mkdir()
    result = run_capitals("backup", str(tmp_path / "backup"), env=env)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(
        "capitals: SCHEDULING_DATABASE_URL is not SQLite: backup covers the embedded system"
    )


def test_an_erasure_finished_during_the_backup_stays_erased_after_a_restore(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An erasure deletes its events from the stream, then its outbox rows: one that ends
    between the stream snapshots and the databases' copy leaves nothing in the copies to
    find the events by, so the restore deletes them from the restored stream itself."""
    live = NatsServer(tmp_path / "live-nats")
    live.start()
    try:

        async def publish_three() -> None:
            nc = await nats.connect(live.url)
            js = nc.jetstream()
            await js.add_stream(name="REGISTRATION", subjects=["registration.>"])
            for n in range(1, 4):
                await js.publish("registration.registration.confirmed", f"event {n}".encode())
            await nc.close()

        asyncio.run(publish_three())
        settings = load_settings(
            {"CAPITALS_DATA_DIR": str(tmp_path / "data"), "NATS_URL": live.url}
        )
        for service in SERVICES:
            upgrade(service, settings.database_url(service))

        copy_databases = backups._copy_databases

        def erasure_finishes_meanwhile(databases: dict[str, Path], target: Path) -> float:
            async def erase() -> None:
                nc = await nats.connect(live.url)
                await nc.jetstream().delete_msg("REGISTRATION", 2)
                await nc.close()

            # The backup's own event loop is running here: the erasure gets a thread.
            eraser = threading.Thread(target=lambda: asyncio.run(erase()))
            eraser.start()
            eraser.join()
            return copy_databases(databases, target)

        monkeypatch.setattr(backups, "_copy_databases", erasure_finishes_meanwhile)
        manifest = backups.backup(settings, tmp_path / "backup")
    finally:
        live.stop()
    assert manifest["streams"] == {"REGISTRATION": {"messages": 3}}

    backups.restore(tmp_path / "backup", {"CAPITALS_DATA_DIR": str(tmp_path / "restored")})
    restored = NatsServer(tmp_path / "restored" / "nats")
    restored.start()
    try:

        async def stored() -> list[bytes]:
            nc = await nats.connect(restored.url)
            js = nc.jetstream()
            found = []
            for seq in (1, 2, 3):
                with suppress(NotFoundError):
                    found.append((await js.get_msg("REGISTRATION", seq)).data or b"")
            await nc.close()
            return found

        assert asyncio.run(stored()) == [b"event 1", b"event 3"]
    finally:
        restored.stop()
