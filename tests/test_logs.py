"""Logs are JSON lines with the correlation id, uvicorn's included, and no link secret in them."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import sys
from pathlib import Path

import httpx
import pytest

from capitals.embedded import free_port
from shared.logs import REDACTED, JsonFormatter, correlation_id, redact
from tests.registration_support import served_registration
from tests.test_foundation import _start_up, _stop, clean_env

FIELDS = {"time", "level", "logger", "message"}


@pytest.mark.parametrize(
    ("kind", "line"),
    [
        ("manage", 'GET /manage/{secret} HTTP/1.1" 200'),
        ("manage action", "POST /manage/{secret}/cancel"),
        ("manage link in a message", "mailed https://reg.example.org/manage/{secret} to someone"),
        ("evaluation invitation", "GET /evaluations/{secret}?saved=1"),
        ("evaluation form", "POST /evaluations/{secret}/form"),
        ("calendar feed", "GET /calendars/{secret}.ics"),
        ("sign-in link", "GET /sign-in/{secret}"),
        ("token in a query", "GET /something?token={secret}&x=1"),
    ],
)
def test_each_kind_of_link_secret_is_redacted(kind: str, line: str) -> None:
    secret = secrets.token_urlsafe(24)
    redacted = redact(line.format(secret=secret))
    assert secret not in redacted, kind
    assert REDACTED in redacted
    # What is around the secret stays readable.
    assert redacted.split(REDACTED)[0] == line.split("{secret}")[0]


def test_paths_without_secrets_are_left_alone() -> None:
    for line in ("GET /trainings/abc", "GET /staff/sign-in", "POST /manage-link", "GET /ready"):
        assert redact(line) == line


def test_a_record_is_one_json_object_with_its_correlation_id_and_nothing_secret() -> None:
    secret = secrets.token_urlsafe(24)
    formatter = JsonFormatter("registration")
    token = correlation_id.set("cid-1")
    try:
        try:
            raise ValueError(f"no registration for /manage/{secret}")
        except ValueError:
            record = logging.getLogger("shared.test").makeRecord(
                "shared.test",
                logging.ERROR,
                __file__,
                1,
                "failed on %s",
                (f"/evaluations/{secret}",),
                exc_info=sys.exc_info(),
            )
        entry = json.loads(formatter.format(record))
    finally:
        correlation_id.reset(token)
    assert set(entry) >= FIELDS
    assert entry["correlation_id"] == "cid-1"
    assert entry["level"] == "error"
    assert entry["message"] == f"failed on /evaluations/{REDACTED}"
    assert "ValueError" in entry["error"]
    assert secret not in json.dumps(entry)


def _entries(text: str) -> list[dict[str, object]]:
    """Every line as JSON: a line that is not fails the test."""
    entries = []
    for line in text.splitlines():
        if line.strip():
            entry = json.loads(line)
            assert set(entry) >= FIELDS, line
            entries.append(entry)
    return entries


def _secret_paths() -> tuple[list[str], dict[str, str]]:
    found = {
        kind: secrets.token_urlsafe(24) for kind in ("manage", "evaluation", "feed", "sign_in")
    }
    paths = [
        f"/manage/{found['manage']}",
        f"/evaluations/{found['evaluation']}",
        f"/calendars/{found['feed']}.ics",
        f"/sign-in/{found['sign_in']}",
    ]
    return paths, found


async def test_capitals_serve_writes_json_lines_with_access_lines_and_no_secrets(
    tmp_path: Path,
) -> None:
    paths, found = _secret_paths()
    async with served_registration(tmp_path, CAPITALS_LOG_LEVEL="INFO") as served:
        async with httpx.AsyncClient(base_url=served.url) as client:
            for n, path in enumerate(paths):
                await client.get(path, headers={"X-Correlation-ID": f"probe-{n}"})
            await client.post(
                f"/manage/{found['manage']}/cancel", headers={"X-Correlation-ID": "probe-cancel"}
            )
        # The access line is written after the answer is sent.
        await asyncio.sleep(0.3)
        text = served.log.read_text()
    entries = _entries(text)
    for secret in found.values():
        assert secret not in text
    access = [e for e in entries if e["logger"] == "uvicorn.access"]
    logged = {(e["method"], e["path"]) for e in access}
    for path in paths:
        assert ("GET", path.rsplit("/", 1)[0] + f"/{REDACTED}") in logged
    assert ("POST", f"/manage/{REDACTED}/cancel") in logged
    # A route of the service carries the request's correlation id into its access line
    # (a path no route matches is answered before the middleware that reads it).
    manage = [e for e in access if e.get("correlation_id") == "probe-0"]
    assert [(e["path"], e["status"]) for e in manage] == [(f"/manage/{REDACTED}", 404)]
    # uvicorn's start-up lines come through the same handler.
    assert any(e["logger"] == "uvicorn.error" for e in entries)


def test_capitals_up_writes_every_services_lines_as_json_on_stderr(tmp_path: Path) -> None:
    ports = {service: free_port() for service in ("registration", "scheduling", "evaluation")}
    env = clean_env(
        tmp_path,
        CAPITALS_LOG_LEVEL="INFO",
        **{f"{s.upper()}_PUBLIC_URL": f"http://127.0.0.1:{p}" for s, p in ports.items()},
    )
    stderr = tmp_path / "stderr.log"
    paths, found = _secret_paths()
    process, _ = _start_up(env, stderr)
    try:
        for port in ports.values():
            for path in paths:
                httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5)
    finally:
        assert _stop(process) == 0
    text = stderr.read_text()
    entries = _entries(text)
    for secret in found.values():
        assert secret not in text
    assert {e["service"] for e in entries} >= {"registration", "scheduling", "evaluation"}
    served = {(e["service"], e["path"]) for e in entries if e["logger"] == "uvicorn.access"}
    for service in ports:
        assert (service, f"/sign-in/{REDACTED}") in served
    # The files in the data directory hold the same lines.
    logs = tmp_path / "data" / "logs"
    for service in ports:
        assert _entries((logs / f"{service}.log").read_text())
