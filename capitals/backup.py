"""`capitals backup DIR` and `capitals restore DIR`: a consistent copy of the embedded
system's data taken while it runs, and that copy put back into an empty data directory.

The order is what makes the copy consistent (docs/decisions/0015-backup-and-restore.md):
the streams first, then the three databases at one instant, then the secret and the mail.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import sys
import time
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shared.settings import SERVICES, SettingError, Settings, load_settings

MANIFEST = "manifest.json"
# Where `capitals up` writes the address of the nats-server it started, for the backup.
BROKER_ADDRESS = "nats.url"
# Outbox rows recorded as published this shortly before the first stream snapshot was
# asked for are published again after a restore, in case the clock stepped back.
CLOCK_MARGIN = timedelta(seconds=1)


class Refusal(Exception):
    """Why the command will not run, in one line."""


def _data_dir(env: dict[str, str]) -> Path:
    return Path(env.get("CAPITALS_DATA_DIR", "./capitals-data")).expanduser().absolute()


def _sqlite_file(service: str, url: str) -> Path:
    if not url.startswith("sqlite"):
        setting = f"{service.upper()}_DATABASE_URL"
        raise Refusal(
            f"{setting} is not SQLite: backup covers the embedded system "
            "(back PostgreSQL up with its own tools)"
        )
    return Path(url.split(":///", 1)[1])


def _empty_or_absent(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


# The backup.


def backup(settings: Settings, target: Path) -> dict[str, Any]:
    """Copy the running system's data into `target` (absent or empty); return the manifest."""
    databases = {s: _sqlite_file(s, settings.database_url(s)) for s in SERVICES}
    for service, path in databases.items():
        if not path.exists():
            raise Refusal(f"no {service} database at {path}")
    if not _empty_or_absent(target):
        raise Refusal(f"{target} is not empty; a backup goes into a new or empty directory")
    url = settings.nats_url or _running_broker(settings.data_dir)
    target.mkdir(parents=True, exist_ok=True)
    (target / "streams").mkdir()

    streams_from = datetime.now(UTC)
    streams, paused = asyncio.run(_copy_streams_then_databases(url, databases, target))
    # What was published while the streams were being copied may be missing from them:
    # the copies' outboxes publish it again (same Nats-Msg-Id) after a restore.
    republish = {
        service: _unpublish_since(target / f"{service}.sqlite3", streams_from - CLOCK_MARGIN)
        for service in SERVICES
    }
    # 3. The secret, and the mail written as files (after the databases: a mail the
    # copy's queue still holds unsent is sent again rather than lost).
    secret = settings.data_dir / "secret"
    if secret.exists():
        shutil.copy2(secret, target / "secret")
        (target / "secret").chmod(0o600)
    if settings.mail_dir.exists():
        shutil.copytree(settings.mail_dir, target / "mail")

    manifest = {
        "format": 1,
        "taken_at": streams_from.isoformat(),
        "from": str(settings.data_dir),
        "streams": streams,
        "databases": sorted(f"{service}.sqlite3" for service in SERVICES),
        "writes_paused_ms": round(paused * 1000, 1),
        "republished_after_restore": republish,
        "secret": secret.exists(),
    }
    # Written last: a directory without it is an interrupted backup, which restore refuses.
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _running_broker(data_dir: Path) -> str:
    address = data_dir / BROKER_ADDRESS
    if not address.exists():
        raise Refusal(
            f"no broker running for {data_dir} (start `capitals up` there, or set NATS_URL)"
        )
    return address.read_text().strip()


async def _copy_streams_then_databases(
    url: str, databases: dict[str, Path], target: Path
) -> tuple[dict[str, Any], float]:
    import nats

    from capitals.snapshots import deleted, snapshot, stream_names

    try:
        nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=0)
    except Exception as exc:
        raise Refusal(f"no broker answers at {url} (is `capitals up` running?): {exc}") from None
    try:
        # 1. The streams, with their consumers' acknowledged positions.
        taken: dict[str, Any] = {}
        gone_before: dict[str, set[int]] = {}
        for name in await stream_names(nc):
            gone_before[name] = await deleted(nc, name)
            taken[name] = await snapshot(nc, name, target / "streams" / f"{name}.snapshot")
        # 2. The databases, all three as of one instant, after the streams.
        paused = _copy_databases(databases, target)
        # An erasure finished meanwhile deleted its events from the streams and then its
        # outbox rows, which the database copies therefore no longer list: the restore
        # deletes those events from the restored streams too.
        for name, meta in taken.items():
            state = meta["state"]
            first, last = state.get("first_seq", 0), state.get("last_seq", 0)
            meta["erased_meanwhile"] = sorted(
                seq for seq in await deleted(nc, name) - gone_before[name] if first <= seq <= last
            )
            (target / "streams" / f"{name}.json").write_text(json.dumps(meta, indent=2) + "\n")
        summary = {
            name: {"messages": meta["state"].get("messages", 0)} for name, meta in taken.items()
        }
        return summary, paused
    finally:
        await nc.close()


def _copy_databases(databases: dict[str, Path], target: Path) -> float:
    """Copy every database as of one instant, with SQLite's online backup.

    The write lock of each database is taken in turn (the services wait on it as on any
    writer, with their busy timeout) and a read transaction is opened on each while all
    are held: no commit can fall between two of the snapshots. The locks are let go
    before the copying, which reads those snapshots while the services write on (WAL).
    Returns how long writes were held up, in seconds."""
    writers = [
        sqlite3.connect(path, timeout=30, isolation_level=None) for path in databases.values()
    ]
    readers = [
        sqlite3.connect(path, timeout=30, isolation_level=None) for path in databases.values()
    ]
    try:
        held_from: float | None = None
        try:
            for writer in writers:
                writer.execute("BEGIN IMMEDIATE")
                # From the first lock taken, that database's writers wait.
                held_from = held_from or time.monotonic()
            for reader in readers:
                # A read transaction's snapshot is fixed by its first read.
                reader.execute("BEGIN")
                reader.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            for writer in writers:
                if writer.in_transaction:
                    writer.execute("ROLLBACK")
        paused = time.monotonic() - (held_from or time.monotonic())
        for service, reader in zip(databases, readers, strict=True):
            copy = sqlite3.connect(target / f"{service}.sqlite3")
            try:
                # All pages in one step, within the reader's snapshot.
                reader.backup(copy, pages=-1)
            finally:
                copy.close()
            reader.execute("COMMIT")
        return paused
    finally:
        for connection in writers + readers:
            connection.close()


def _unpublish_since(copy: Path, since: datetime) -> int:
    """In a database copy, mark the outbox rows published at or after `since` as not
    published (and every unpublished row as claimed by nobody), so that the restored
    service publishes them at once."""
    from sqlalchemy import create_engine, update

    from shared.tables import outbox

    engine = create_engine(f"sqlite:///{copy}")
    try:
        with engine.begin() as connection:
            again = connection.execute(
                update(outbox)
                .where(outbox.c.published_at >= since)
                .values(published_at=None, stream_seq=None, claimed_until=None)
            ).rowcount
            connection.execute(
                update(outbox).where(outbox.c.published_at.is_(None)).values(claimed_until=None)
            )
        return int(again)
    finally:
        engine.dispose()


# The restore.


def restore(source: Path, env: dict[str, str]) -> dict[str, Any]:
    """Put a backup into the data directory `env` names, which must be empty; the broker's
    streams are restored through a nats-server started on it for the purpose."""
    manifest_file = source / MANIFEST
    if not manifest_file.exists():
        raise Refusal(f"{source} is not a complete backup (no {MANIFEST})")
    manifest = json.loads(manifest_file.read_text())
    data_dir = _data_dir(env)
    if not _empty_or_absent(data_dir):
        raise Refusal(f"{data_dir} is not empty; restore needs an empty data directory")
    databases = {}
    for service in SERVICES:
        url = (
            env.get(f"{service.upper()}_DATABASE_URL")
            or f"sqlite+aiosqlite:///{data_dir}/{service}.sqlite3"
        )
        databases[service] = _sqlite_file(service, url)
        if databases[service].exists():
            raise Refusal(f"{databases[service]} exists; restore writes only new databases")

    data_dir.mkdir(parents=True, exist_ok=True)
    for service, path in databases.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / f"{service}.sqlite3", path)
    if (source / "secret").exists():
        shutil.copy2(source / "secret", data_dir / "secret")
        (data_dir / "secret").chmod(0o600)
    if (source / "mail").exists():
        shutil.copytree(source / "mail", data_dir / "mail")
    _restore_streams(source / "streams", data_dir, list(manifest["streams"]))
    return manifest


def _restore_streams(snapshots: Path, data_dir: Path, names: list[str]) -> None:
    from capitals.embedded import free_port, start_nats, wait_for_port

    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = start_nats(data_dir / "nats", port, logs / "nats-server.log")
    try:
        if not wait_for_port(port, 10):
            raise Refusal(f"nats-server did not start; see {logs / 'nats-server.log'}")
        asyncio.run(_restore_each(f"nats://127.0.0.1:{port}", snapshots, names))
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except Exception:
            server.kill()


async def _restore_each(url: str, snapshots: Path, names: list[str]) -> None:
    import nats
    from nats.js.errors import NotFoundError

    from capitals.snapshots import restore as restore_stream

    nc = await nats.connect(url, connect_timeout=5)
    try:
        # The server takes a moment after its port opens before JetStream answers.
        async with asyncio.timeout(20):
            while True:
                try:
                    await nc.request("$JS.API.INFO", b"", timeout=2)
                    break
                except Exception:
                    await asyncio.sleep(0.2)
        js = nc.jetstream(timeout=10)
        for name in names:
            meta = json.loads((snapshots / f"{name}.json").read_text())
            erased = meta.pop("erased_meanwhile", [])
            await restore_stream(nc, name, meta, snapshots / f"{name}.snapshot")
            for seq in erased:
                with suppress(NotFoundError):
                    await js.delete_msg(name, seq)
    finally:
        await nc.close()


# The commands.


def _fail(message: str) -> None:
    print(f"capitals: {message}", file=sys.stderr)
    raise SystemExit(2)


def backup_command(args: argparse.Namespace) -> None:
    from capitals.system import SECTIONS

    env = dict(os.environ)
    data_dir = _data_dir(env)
    if not data_dir.is_dir():
        _fail(f"no data directory at {data_dir}")
    try:
        settings = load_settings(env, sections=SECTIONS)
        manifest = backup(settings, Path(args.dir).expanduser().absolute())
    except SettingError as exc:
        _fail(f"bad setting {exc}")
        return
    except Refusal as refusal:
        _fail(str(refusal))
        return
    streams = ", ".join(f"{n} ({s['messages']})" for n, s in manifest["streams"].items())
    print(f"Backed up {data_dir} into {Path(args.dir).absolute()}")
    print(f"  streams (messages): {streams}")
    print(f"  databases: {', '.join(manifest['databases'])}")
    print(f"  writes held for {manifest['writes_paused_ms']} ms")
    again = manifest["republished_after_restore"]
    print(
        "  events to publish again after a restore: "
        + ", ".join(f"{s} {n}" for s, n in again.items())
    )


def restore_command(args: argparse.Namespace) -> None:
    env = dict(os.environ)
    try:
        manifest = restore(Path(args.dir).expanduser().absolute(), env)
    except Refusal as refusal:
        _fail(str(refusal))
        return
    print(f"Restored the backup of {manifest['taken_at']} into {_data_dir(env)}")
    print("  start it with `capitals up`")
