"""Times the series feed served by a running scheduling service over real HTTP.

Starts a nats-server and `capitals serve scheduling` (uvicorn) on SQLite in a
temporary directory, fills one series with 2,000 sessions over 12 trainings in
12 zones through the service's own routes, then measures: the first build of
the series feed, a rebuild after a change, a repeat request answered from the
in-process cache (200), and a conditional request answered 304; and, in the
same run, a bare icalendar build of the same events next to build_feed.

Run with `.venv/bin/python bench/scheduling_feed.py [sessions] [repeats]`.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The same bare icalendar baseline as the in-process bench, so the two ratios compare.
from bench.calendar_feed import EDITIONS, KINDS, bare_icalendar_build  # noqa: E402
from capitals.embedded import free_port, start_nats, wait_for_port  # noqa: E402
from deploy.loopback import terminate  # noqa: E402
from shared.auth import issue_token  # noqa: E402
from shared.calendar import (  # noqa: E402
    Feed,
    FeedSession,
    FeedSpeaker,
    build_feed,
)
from shared.migrations import upgrade  # noqa: E402
from tests.servers import Command  # noqa: E402

SECRET = "bench-secret-0123456789-abcdefghij"
SERIES = "cbss-thb"
ROOMS, SLOTS = 6, 6  # parallel rooms, and 75-minute slots a day from 09:00


def _env(data: Path, nats_url: str, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "CAPITALS_DATA_DIR": str(data),
        "NATS_URL": nats_url,
        "CAPITALS_SECRET": SECRET,
        "CAPITALS_RATE_LIMIT": "0",
        "SCHEDULING_DATABASE_URL": f"sqlite+aiosqlite:///{data / 'scheduling.sqlite3'}",
        "SCHEDULING_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "CAPITALS_LOG_LEVEL": "WARNING",
    }


async def fill(client: httpx.AsyncClient, sessions: int) -> list[dict[str, Any]]:
    """12 published trainings sharing `sessions` sessions, created through the API."""
    trainings = []
    for host, first_day in EDITIONS:
        code, zone = host.code, host.timezone
        days = -(-sessions // len(EDITIONS) // (ROOMS * SLOTS)) or 1
        response = await client.post(
            "/trainings",
            json={
                "series": SERIES,
                "title": f"Trafficking in human beings: training for consular staff ({code})",
                "host_country": code,
                "venue": "Ministry of Foreign Affairs",
                "timezone": zone,
                "starts_on": first_day.isoformat(),
                "ends_on": (first_day + timedelta(days=days - 1)).isoformat(),
                "capacity": 40,
                "description": "For diplomatic and consular staff of CBSS states.",
            },
        )
        response.raise_for_status()
        trainings.append(response.json())
    limit = asyncio.Semaphore(8)

    async def add(n: int) -> None:
        training = trainings[n % len(EDITIONS)]
        index = n // len(EDITIONS)
        day, rest = divmod(index, ROOMS * SLOTS)
        slot, room = divmod(rest, ROOMS)
        start = datetime.combine(
            date.fromisoformat(training["starts_on"]) + timedelta(days=day), datetime.min.time()
        ) + timedelta(hours=9, minutes=75 * slot)
        async with limit:
            response = await client.post(
                f"/trainings/{training['id']}/sessions",
                json={
                    "title": f"Session {index}: identifying victims of trafficking",
                    "kind": KINDS[n % len(KINDS)],
                    "starts_at": start.isoformat(),
                    "ends_at": (start + timedelta(hours=1)).isoformat(),
                    "room": f"Room {room + 1}",
                    "speakers": [
                        {"name": f"Speaker {n}", "organisation": "Ministry for Foreign Affairs"}
                    ],
                    "description": "Referral mechanisms and consular assistance.",
                },
            )
            response.raise_for_status()

    await asyncio.gather(*(add(n) for n in range(sessions)))
    for training in trainings:
        response = await client.post(
            f"/trainings/{training['id']}/publish", params={"override_conflicts": "true"}
        )
        response.raise_for_status()
    listed = await client.get("/trainings", params={"series": SERIES, "limit": 500})
    return list(listed.json()["items"])


def feed_of(trainings: list[dict[str, Any]], base: str) -> Feed:
    """The same events build_feed gets inside the service, rebuilt from the API's answers."""
    sessions = []
    for t in trainings:
        for s in t["sessions"]:
            sessions.append(
                FeedSession(
                    id=s["id"],
                    training_id=t["id"],
                    title=s["title"],
                    kind=s["kind"],
                    starts_at=datetime.fromisoformat(s["starts_at"]),
                    ends_at=datetime.fromisoformat(s["ends_at"]),
                    timezone=t["timezone"],
                    status=s["status"],
                    sequence=s["sequence"],
                    revised_at=datetime(2009, 1, 5, tzinfo=UTC),
                    room=s["room"],
                    speakers=tuple(
                        FeedSpeaker(p["name"], p["organisation"]) for p in s["speakers"]
                    ),
                    description=s["description"],
                    training_title=t["title"],
                    venue=t["venue"],
                    city=t["city"],
                    training_description=t["description"],
                    training_url=f"{base}/trainings/{t['id']}/page",
                )
            )
    return Feed(name="CBSS trainings", sessions=sessions)


class Connection:
    """A lean HTTP/1.1 keep-alive client, so the timings are the service's, not a library's."""

    def __init__(self, url: str) -> None:
        parts = httpx.URL(url)
        self.host, self.port = parts.host, parts.port or 80
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        lines = [f"GET {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        fields = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:] if h)}
        if fields.get("transfer-encoding") == "chunked":
            body = b""
            while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
                body += await reader.readexactly(size + 2)
            await reader.readuntil(b"\r\n")
        else:
            body = await reader.readexactly(int(fields.get("content-length", "0")))
        return status, body

    async def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


async def timed(request: Callable[[], Awaitable[Any]], times: list[float]) -> Any:
    began = time.perf_counter()
    result = await request()
    times.append(time.perf_counter() - began)
    return result


def row(name: str, times: list[float], size: int | str = "") -> str:
    ms = sorted(t * 1000 for t in times)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    median = statistics.median(ms)
    return f"| {name:<56} | {len(ms):>4} | {median:>9.2f} | {p95:>8.2f} | {size!s:>9} |"


async def measure(url: str, sessions: int, repeats: int) -> list[str]:
    token = issue_token(SECRET, role="secretariat", lifetime=timedelta(hours=2))
    staff = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=staff, timeout=120) as client:
        began = time.perf_counter()
        trainings = await fill(client, sessions)
        filled = time.perf_counter() - began
        count = sum(len(t["sessions"]) for t in trainings)
        zones = len({t["timezone"] for t in trainings})
        path = f"/series/{SERIES}/calendar.ics"
        some = trainings[0]["sessions"][0]
        http = Connection(url)

        # The very first request: empty feed cache and cold VTIMEZONE cache.
        cold: list[float] = []
        status, body = await timed(lambda: http.get(path), cold)
        assert status == 200 and body.count(b"BEGIN:VEVENT") == count, status

        rebuilt: list[float] = []
        for n in range(repeats):
            # Any change raises the training's feed revision: the next request builds anew.
            change = await client.patch(
                f"/trainings/{some['training_id']}/sessions/{some['id']}",
                json={"title": f"Opening take {n}"},
            )
            change.raise_for_status()
            status, body = await timed(lambda: http.get(path), rebuilt)
            assert status == 200 and f"Opening take {n}".encode() in body

    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        response = await client.get(path, headers={"Accept-Encoding": "identity"})
        etag = response.headers["etag"]
        loops = repeats * 20
        rows: dict[str, list[float]] = {}
        sizes: dict[str, int] = {}
        cases = {
            "repeat, unchanged data: 200 from cache": {},
            "repeat, unchanged data: 200 from cache, gzip": {"Accept-Encoding": "gzip"},
            "repeat with If-None-Match: 304": {"If-None-Match": etag},
            "GET /health (the floor: routing, no database)": {},
        }
        for name, headers in cases.items():
            target = "/health" if "health" in name else path
            await http.get(target, headers)  # warm
            rows[name] = []
            for _ in range(loops):
                status, body = await timed(lambda t=target, h=headers: http.get(t, h), rows[name])
                assert status in (200, 304), status
            sizes[name] = len(body)

        fresh: list[float] = []
        for _ in range(loops):
            once = Connection(url)
            status, _ = await timed(lambda c=once: c.get(path, {"If-None-Match": etag}), fresh)
            assert status == 304
            await once.close()

        library: list[float] = []
        await client.get(path, headers={"If-None-Match": etag})
        for _ in range(loops):
            reply = await timed(lambda: client.get(path, headers={"If-None-Match": etag}), library)
            assert reply.status_code == 304
        await http.close()

    feed = feed_of(trainings, url)
    bare: list[float] = []
    ours: list[float] = []
    for _ in range(repeats):
        began = time.perf_counter()
        bare_icalendar_build(feed)
        bare.append(time.perf_counter() - began)
        began = time.perf_counter()
        build_feed(feed)
        ours.append(time.perf_counter() - began)

    ratio = statistics.median(ours) / statistics.median(bare)
    cached = statistics.median(rows["repeat, unchanged data: 200 from cache"]) * 1000
    revalidated = statistics.median(rows["repeat with If-None-Match: 304"]) * 1000
    return [
        f"Series feed: {count} sessions over {len(trainings)} trainings in {zones} zones, "
        f"created through the API in {filled:.0f} s; feed {len(response.content):,} bytes",
        "HTTP rows: real HTTP to `capitals serve scheduling` (uvicorn) on 127.0.0.1, SQLite,",
        "one keep-alive connection unless noted, timed from request written to body read.",
        "",
        f"| {'measurement':<56} | {'n':>4} | {'median ms':>9} | {'p95 ms':>8} | {'bytes':>9} |",
        f"|{'-' * 58}|{'-' * 6}|{'-' * 11}|{'-' * 10}|{'-' * 11}|",
        row("HTTP first build (empty caches)", cold, len(response.content)),
        row("HTTP rebuild after a change (200)", rebuilt, len(response.content)),
        *(row(f"HTTP {name}", rows[name], sizes[name]) for name in cases),
        row("HTTP 304, new connection each time", fresh, 0),
        row("HTTP 304 through httpx.AsyncClient (keep-alive)", library, 0),
        row("in-process: bare icalendar build (no VTIMEZONE)", bare),
        row("in-process: capitals build_feed, same events", ours),
        "",
        f"build_feed / bare icalendar build: {ratio:.2f}x (target: at most 1.5x)",
        f"repeat request, unchanged data: {cached:.2f} ms (200 from cache), "
        f"{revalidated:.2f} ms (304) (target: under 5 ms)",
    ]


def main() -> None:
    sessions = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    with tempfile.TemporaryDirectory(prefix="capitals-bench-") as folder:
        data = Path(folder)
        nats_port, port = free_port(), free_port()
        nats = start_nats(data / "nats", nats_port, data / "nats.log")
        try:
            if not wait_for_port(nats_port, 10):
                raise SystemExit("nats-server did not start")
            env = _env(data, f"nats://127.0.0.1:{nats_port}", port)
            upgrade("scheduling", env["SCHEDULING_DATABASE_URL"])
            with Command("scheduling", port, env, data / "scheduling.log").served():
                url = f"http://127.0.0.1:{port}"
                for line in asyncio.run(measure(url, sessions, repeats)):
                    print(line)
        finally:
            terminate(nats)


if __name__ == "__main__":
    main()
