"""Settings, the command line, event schemas, migrations and the compose file."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt
import pytest
import yaml
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from capitals.embedded import free_port
from capitals.system import SECTIONS, SETTING_NAMES
from services.evaluation.settings import own
from services.registration.settings import own as registration_settings
from shared.events.schema import SCHEMA_DIR, rendered
from shared.migrations import target_metadata, upgrade
from shared.settings import SettingError, load_settings
from tests.support import SECRET, create_pg_database, drop_pg_database

ROOT = Path(__file__).resolve().parents[1]
CAPITALS = [sys.executable, "-m", "capitals.cli"]


def run_capitals(
    *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CAPITALS, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in SETTING_NAMES and not key.endswith("_DATABASE_URL")
    }
    env["CAPITALS_DATA_DIR"] = str(tmp_path / "data")
    env.update(extra)
    return env


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CAPITALS_RATE_LIMIT", "lots"),
        ("EVALUATION_OPEN_FOR", "30 days"),
        ("REGISTRATION_DATABASE_URL", "mysql://localhost/db"),
        ("SMTP_URL", "http://mail.example.org"),
        ("CAPITALS_SECRET", "short"),
        ("NATS_URL", "localhost:4222"),
        ("SCHEDULING_PUBLIC_URL", "ftp://example.org"),
        ("SCHEDULING_PUBLIC_URL", "https://capitals.example.org/scheduling?x=1"),
        ("EVALUATION_PUBLIC_URL", "https:///evaluation"),
        ("MAIL_FROM", "Capitals <noreply@example.org>\r\nBcc: evil@evil.example"),
        ("MAIL_FROM", "noreply@example.org, evil@evil.example"),
        ("MAIL_FROM", "Capitals"),
        ("CAPITALS_TRUSTED_PROXIES", "10.0.0.1, proxy.example.org"),
        ("CAPITALS_TRUSTED_PROXIES", "10.0.0.0/33"),
    ],
)
def test_a_bad_setting_is_named_in_one_line(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(SettingError, match=f"^{name}: "):
        load_settings({"CAPITALS_DATA_DIR": str(tmp_path), name: value}, sections=SECTIONS)


def test_start_up_with_a_bad_setting_fails_with_one_line(tmp_path: Path) -> None:
    result = run_capitals(
        "serve",
        "registration",
        env=clean_env(tmp_path, NATS_URL="nats://127.0.0.1:1", EVALUATION_MAX_REMINDERS="-1"),
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "EVALUATION_MAX_REMINDERS" in lines[0]


def test_serve_without_a_broker_url_names_the_setting(tmp_path: Path) -> None:
    result = run_capitals("serve", "scheduling", env=clean_env(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "capitals: bad setting NATS_URL: not set (`capitals up` starts its own broker)"
    ]


def test_settings_have_the_documented_defaults(tmp_path: Path) -> None:
    settings = load_settings({"CAPITALS_DATA_DIR": str(tmp_path)})
    assert settings.rate_limit == 30
    assert own(settings).open_for.days == 30
    assert own(settings).reminder_after.days == 7
    assert own(settings).max_reminders == 2
    assert own(settings).follow_up_after.days == 90
    assert registration_settings(settings).retention.days == 365
    assert settings.public_url("registration") == "http://127.0.0.1:8001"
    assert settings.database_url("evaluation").endswith("evaluation.sqlite3")
    assert settings.mail_from == "Capitals <noreply@localhost>"
    # The generated secret is kept in the data directory, so the next start signs alike.
    assert load_settings({"CAPITALS_DATA_DIR": str(tmp_path)}).secret == settings.secret
    assert oct((tmp_path / "secret").stat().st_mode & 0o777) == "0o600"


def test_token_command_prints_a_token_alone_on_the_last_line(tmp_path: Path) -> None:
    result = run_capitals(
        "token",
        "--role",
        "organiser",
        "--country",
        "EE",
        "--country",
        "lv",
        "--days",
        "2",
        env=clean_env(tmp_path, CAPITALS_SECRET=SECRET),
    )
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["role"] == "organiser" and claims["countries"] == ["EE", "LV"]
    assert claims["exp"] - claims["iat"] == 2 * 86400
    assert {"sub", "iat", "exp"} <= set(claims)


def test_an_organiser_token_needs_a_country(tmp_path: Path) -> None:
    env = clean_env(tmp_path, CAPITALS_SECRET=SECRET)
    result = run_capitals("token", "--role", "organiser", env=env)
    assert result.returncode == 2 and "--country" in result.stderr


def test_token_command_without_a_secret_names_the_data_dir_and_creates_nothing(
    tmp_path: Path,
) -> None:
    result = run_capitals("token", "--role", "secretariat", env=clean_env(tmp_path))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(tmp_path / "data") in lines[0]
    assert not (tmp_path / "data").exists()


def test_token_command_signs_with_the_secret_kept_in_the_data_directory(tmp_path: Path) -> None:
    kept = load_settings({"CAPITALS_DATA_DIR": str(tmp_path / "data")}).secret  # as `up` does
    result = run_capitals("token", "--role", "secretariat", env=clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    claims = jwt.decode(result.stdout.strip().splitlines()[-1], kept, algorithms=["HS256"])
    assert claims["role"] == "secretariat"


def test_migrate_command_brings_every_database_to_head(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    result = run_capitals("migrate", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "registration: database at head",
        "scheduling: database at head",
        "evaluation: database at head",
    ]
    for service in ("registration", "scheduling", "evaluation"):
        assert (tmp_path / "data" / f"{service}.sqlite3").exists()
    again = run_capitals("migrate", "evaluation", env=env)
    assert again.returncode == 0 and again.stdout.strip() == "evaluation: database at head"


def test_committed_event_schemas_match_the_contracts() -> None:
    expected = rendered()
    on_disk = {path.name: path.read_text() for path in SCHEMA_DIR.glob("*.json")}
    assert set(on_disk) == set(expected), "run: python -m shared.events.schema"
    for name, text in expected.items():
        assert on_disk[name] == text, f"{name} is stale: run python -m shared.events.schema"
    published = json.loads(expected["scheduling.training.published.json"])
    assert set(published["required"]) == {
        "event_id",
        "type",
        "occurred_at",
        "producer",
        "correlation_id",
        "version",
        "data",
    }


@pytest.mark.parametrize("service", ["scheduling", "registration", "evaluation"])
async def test_migrations_create_exactly_the_tables_of_the_code(
    tmp_path: Path, db_kind: str, service: str
) -> None:
    if db_kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / service}.sqlite3"
        name = None
    else:
        name = f"capitals_migration_{service}_{os.getpid()}"
        url = await create_pg_database(name)
    try:
        await asyncio.to_thread(upgrade, service, url)
        module = __import__(f"services.{service}.tables", fromlist=["metadata"])
        engine = create_async_engine(url)
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(
                        sync,
                        opts={"version_table": f"alembic_version_{service}", "compare_type": False},
                    ),
                    target_metadata(module.metadata),
                )
            )
            tables = await connection.run_sync(lambda sync: sync.dialect.get_table_names(sync))
        await engine.dispose()
        assert diff == []
        assert f"alembic_version_{service}" in tables
    finally:
        if name:
            await drop_pg_database(name)


def test_compose_passes_only_settings_that_exist() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    env = compose["x-capitals-env"]
    assert set(env) <= set(SETTING_NAMES), set(env) - set(SETTING_NAMES)
    nodes = ["nats-1", "nats-2", "nats-3"]
    assert {*nodes, "mail", "postgres", "migrate", "registration", "scheduling", "evaluation"} <= (
        set(compose["services"])
    )
    routes = ",".join(f"nats://{node}:6222" for node in nodes)
    for node in nodes:
        command = compose["services"][node]["command"]
        assert "-js" in command and command[command.index("-n") + 1] == node
        assert command[command.index("--routes") + 1] == routes
    # Streams on three replicas, and a service starts while any node answers.
    assert env["NATS_REPLICAS"] == "3"
    assert env["NATS_URL"] == ",".join(f"nats://{node}:4222" for node in nodes)
    # The mail goes to the mail catcher's SMTP port unless SMTP_URL says otherwise.
    assert env["SMTP_URL"] == "${SMTP_URL:-smtp://mail:1025}"
    for service in ("registration", "scheduling", "evaluation"):
        spec = compose["services"][service]
        assert spec["command"][:2] == ["serve", service]
        assert spec["environment"] == env
        assert spec["environment"][f"{service.upper()}_DATABASE_URL"].endswith(f"/{service}")
        assert set(nodes) <= set(spec["depends_on"])
    init = (ROOT / "deploy" / "postgres-init.sql").read_text()
    for service in ("registration", "scheduling", "evaluation"):
        assert f"CREATE DATABASE {service}" in init


def compose_default(value: str) -> str:
    """A compose value with each ${NAME:-default} as its default."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


def test_compose_puts_two_replicas_of_each_service_behind_one_proxy(tmp_path: Path) -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    env = compose["x-capitals-env"]
    assert services["migrate"]["command"] == ["migrate"]
    proxy = services["proxy"]
    assert proxy["image"].startswith("caddy:")
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    # The services believe the proxy's X-Forwarded-For, and no one else's.
    address = proxy["networks"]["default"]["ipv4_address"]
    assert compose_default(env["CAPITALS_TRUSTED_PROXIES"]) == address
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    routes = {
        prefix: re.findall(r"dynamic a (\S+) (\d+)", block)
        for prefix, block in re.findall(r"handle (/\w+)/\* \{(.*?)\n\t\}", caddyfile, re.S)
    }
    public = {
        f"{service.upper()}_PUBLIC_URL": compose_default(env[f"{service.upper()}_PUBLIC_URL"])
        for service in ("registration", "scheduling", "evaluation")
    }
    settings = load_settings({"CAPITALS_DATA_DIR": str(tmp_path), **public})
    origins = {url.rsplit("/", 1)[0] for url in public.values()}
    assert origins == {"http://localhost:8080"}, origins
    assert proxy["ports"] == ["${CAPITALS_HTTP_PORT:-8080}:80"]
    for service in ("registration", "scheduling", "evaluation"):
        spec = services[service]
        assert spec["deploy"]["replicas"] == 2 and "ports" not in spec
        assert spec["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        port = spec["command"][spec["command"].index("--port") + 1]
        # The proxy sends the prefix the service's public URL carries to that service.
        assert routes[settings.prefix(service)] == [(service, port)], routes
    assert len(routes) == 3


def test_compose_follows_the_compose_specification(tmp_path: Path) -> None:
    # The schema ships with check-jsonschema (vendor.compose-spec, Apache-2.0 like the spec).
    check = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec"]
    result = subprocess.run(
        [*check, str(ROOT / "compose.yaml")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The check does refuse what the specification does not allow.
    broken = tmp_path / "compose.yaml"
    broken.write_text(
        (ROOT / "compose.yaml").read_text().replace("    depends_on:", "    depends:", 1)
    )
    refused = subprocess.run([*check, str(broken)], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "depends" in refused.stdout, refused.stdout


def up_env(tmp_path: Path) -> tuple[dict[str, int], dict[str, str]]:
    """A clean environment for `capitals up`, each service on a free port of its own."""
    ports = {service: free_port() for service in ("registration", "scheduling", "evaluation")}
    env = clean_env(
        tmp_path,
        **{f"{s.upper()}_PUBLIC_URL": f"http://127.0.0.1:{p}" for s, p in ports.items()},
    )
    return ports, env


def _start_up(
    env: dict[str, str], stderr: Path | None = None
) -> tuple[subprocess.Popen[str], list[str]]:
    """`capitals up`, its banner read from standard output; the services' log lines (its
    standard error) go to `stderr`, or nowhere, never into the banner."""
    with stderr.open("ab") if stderr else open(os.devnull, "wb") as errors:
        process = subprocess.Popen(
            [*CAPITALS, "up"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            cwd=ROOT,
        )
    lines: list[str] = []
    deadline = time.monotonic() + 90
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if line.startswith("Press Ctrl-C"):
            return process, lines
    process.kill()
    raise AssertionError("capitals up did not come up:\n" + "\n".join(lines))


def _stop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGINT)
    return process.wait(timeout=30)


def test_capitals_up_starts_everything_and_keeps_data_across_restarts(tmp_path: Path) -> None:
    ports, env = up_env(tmp_path)
    process, lines = _start_up(env)
    try:
        token = lines[-2]
        for port in ports.values():
            ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5)
            assert ready.status_code == 200, ready.text
            assert ready.json() == {"ready": True, "database": True, "nats": True}
        created = httpx.post(
            f"http://127.0.0.1:{ports['scheduling']}/trainings",
            json={
                "series": "kept",
                "title": "Kept across restarts",
                "host_country": "IS",
                "venue": "Harpa",
                "starts_on": "2031-05-25",
                "ends_on": "2031-05-26",
                "capacity": 30,
            },
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert created.status_code == 201, created.text
    finally:
        assert _stop(process) == 0

    process, lines = _start_up(env)
    try:
        listed = httpx.get(
            f"http://127.0.0.1:{ports['scheduling']}/trainings",
            headers={"Authorization": f"Bearer {lines[-2]}"},
            timeout=10,
        )
        assert [t["title"] for t in listed.json()["items"]] == ["Kept across restarts"]
    finally:
        assert _stop(process) == 0
