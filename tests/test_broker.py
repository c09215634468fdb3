"""The connection to NATS: a list of seeds, readiness that says why the broker is not there,
NATS_REPLICAS on a single server, and `capitals up`'s refusal of replicas it cannot give."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from deploy.loopback import terminate
from shared.broker import Broker
from shared.migrations import upgrade
from shared.settings import SettingError, load_settings, nats_seeds
from tests.bus_support import stream_info
from tests.servers import Command
from tests.support import SECRET, NatsServer, free_port
from tests.test_foundation import clean_env, run_capitals


def test_nats_url_lists_seeds_and_replicas_are_checked(tmp_path: Path) -> None:
    env = {"CAPITALS_DATA_DIR": str(tmp_path)}
    settings = load_settings({**env, "NATS_URL": "nats://a:4222, nats://b:4222,tls://c"})
    assert nats_seeds(str(settings.nats_url)) == ["nats://a:4222", "nats://b:4222", "tls://c"]
    assert settings.nats_replicas is None
    assert load_settings({**env, "NATS_REPLICAS": "3"}).nats_replicas == 3
    for value in ("0", "6", "three", "-1"):
        with pytest.raises(SettingError, match=r"^NATS_REPLICAS: "):
            load_settings({**env, "NATS_REPLICAS": value})
    for url in ("nats://a:4222,b:4222", "nats://a:4222,ws://b:80", " , "):
        with pytest.raises(SettingError, match=r"^NATS_URL: "):
            load_settings({**env, "NATS_URL": url})


def test_capitals_up_refuses_more_than_one_replica_naming_the_setting(tmp_path: Path) -> None:
    result = run_capitals("up", env=clean_env(tmp_path, NATS_REPLICAS="3"), timeout=30)
    assert result.returncode == 2
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1 and "NATS_REPLICAS=3" in lines[0], lines
    assert not (tmp_path / "data" / "nats").exists(), "no server was started"


async def test_a_broker_connects_while_any_seed_answers(tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "nats")
    server.start()
    try:
        dead = f"nats://127.0.0.1:{free_port()}"
        broker = Broker(f"{dead},{server.url},{dead.replace('127.0.0.1', 'localhost')}", "t")
        async with asyncio.timeout(15):
            await broker.run()
        assert broker.ready and broker.unready_because is None
        await broker.close()
    finally:
        server.stop()


async def test_one_replica_on_a_single_server_and_more_reported_not_ready(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = NatsServer(tmp_path / "nats")
    server.start()
    try:
        broker = Broker(server.url, "t")
        await broker.run()
        await broker.close()
        assert (await stream_info(server.url, "SCHEDULING")).config.num_replicas == 1

        # Three replicas on one server: the service keeps running, not ready, and says why.
        broker = Broker(server.url, "t", replicas=3)
        task = asyncio.create_task(broker.run())
        try:
            deadline = time.monotonic() + 10
            while not (broker.unready_because or "").startswith("streams not provisioned"):
                assert time.monotonic() < deadline, broker.unready_because
                await asyncio.sleep(0.05)
            assert "replicas" in str(broker.unready_because).lower()
            assert any(
                r.levelname == "ERROR" and "streams not provisioned" in r.getMessage()
                for r in caplog.records
            )
        finally:
            task.cancel()
            await broker.close()
    finally:
        server.stop()


def test_a_service_without_a_broker_serves_says_why_and_connects_once_one_answers(
    tmp_path: Path,
) -> None:
    upgrade("scheduling", f"sqlite+aiosqlite:///{tmp_path / 'scheduling'}.sqlite3")
    seeds = [NatsServer(tmp_path / f"nats-{n}") for n in range(2)]
    port = free_port()
    log = tmp_path / "scheduling.log"
    env = {
        "CAPITALS_DATA_DIR": str(tmp_path / "data"),
        "NATS_URL": ",".join(seed.url for seed in seeds),
        "CAPITALS_SECRET": SECRET,
        "SCHEDULING_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'scheduling'}.sqlite3",
    }
    process = Command("scheduling", port, env, log).start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            try:
                answer = httpx.get(f"{url}/ready", timeout=2)
            except httpx.TransportError:
                time.sleep(0.1)
                continue
            if "problems" in answer.json() and "no server" in answer.json()["problems"]["nats"]:
                break
            time.sleep(0.1)
        assert answer.status_code == 503
        body = answer.json()
        assert body["database"] is True and body["nats"] is False
        reason = body["problems"]["nats"]
        assert seeds[0].url in reason and seeds[1].url in reason
        assert "refused" in reason.lower()
        assert httpx.get(f"{url}/health", timeout=2).status_code == 200

        time.sleep(2)  # several rounds of attempts over both seeds
        # Whatever the log format (plain text or JSON lines), one ERROR line says why: one
        # for the trouble, not one per seed and attempt.
        said = [line for line in log.read_text().splitlines() if "no server answers" in line]
        assert len(said) == 1, said
        assert "shared.broker" in said[0] and ("ERROR" in said[0] or '"error"' in said[0])
        assert "Connection refused" in said[0]

        seeds[1].start()
        deadline = time.monotonic() + 15
        while httpx.get(f"{url}/ready", timeout=2).status_code != 200:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        assert httpx.get(f"{url}/ready", timeout=2).json() == {
            "ready": True,
            "database": True,
            "nats": True,
        }
    finally:
        terminate(process)
        for seed in seeds:
            seed.stop()
