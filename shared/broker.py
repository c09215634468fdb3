"""The connection to NATS: seed servers, endless reconnects, the reasons it is not ready, and
the streams with their replicas."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import nats
from nats.aio.client import Client as NATS
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError

from shared.events import producers
from shared.settings import nats_seeds

log = logging.getLogger(__name__)

DUPLICATE_WINDOW = timedelta(minutes=10)
# Events can carry personal data (a check-in carries the attendee's name and e-mail for the
# evaluation invitation), so streams keep them for a limited time. A consumer that has been
# away longer than this must be rebuilt, not replayed.
STREAM_MAX_AGE = timedelta(days=30)


def stream_name(producer: str) -> str:
    return producer.upper()


def _shown(seed: str) -> str:
    """A seed as logs and /ready show it: without any user or password in it."""
    parts = urlsplit(seed)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


async def ensure_streams(js: JetStreamContext, replicas: int | None) -> None:
    """Create or update every producer's stream: file storage with a duplicate window.

    `replicas` (NATS_REPLICAS) is applied to the producers' streams and to every key-value
    bucket; unset, a new stream gets one replica and an existing one keeps what it has,
    so a stream raised by hand is never lowered by a start-up. Settings of a stream that
    are not ours (limits an operator set) are kept.
    """
    for producer in producers():
        name = stream_name(producer)
        ours: dict[str, Any] = {
            "subjects": [f"{producer}.>"],
            "storage": StorageType.FILE,
            "duplicate_window": DUPLICATE_WINDOW.total_seconds(),
            "max_age": STREAM_MAX_AGE.total_seconds(),
        }
        try:
            info = await js.stream_info(name)
        except NotFoundError:
            await js.add_stream(StreamConfig(name=name, num_replicas=replicas or 1, **ours))
            log.info("created stream %s with %d replica(s)", name, replicas or 1)
            continue
        await _update(js, info.config, replicas, ours)
    for info in await js.streams_info():
        # A key-value bucket is the stream KV_<bucket>.
        if info.config.name and info.config.name.startswith("KV_"):
            await _update(js, info.config, replicas, {})


async def _update(
    js: JetStreamContext, have: StreamConfig, replicas: int | None, ours: dict[str, Any]
) -> None:
    had = have.num_replicas or 1
    wanted = dataclasses.replace(have, num_replicas=replicas or had, **ours)
    if wanted == have:
        return
    await js.update_stream(wanted)
    if wanted.num_replicas != had:
        log.info(
            "stream %s: replicas changed from %d to %d (NATS_REPLICAS)",
            have.name,
            had,
            wanted.num_replicas,
        )


def _reason(exc: BaseException) -> str:
    """An error in words that are the same for every seed (no address in them), so that
    the same trouble is logged once rather than once per seed and attempt."""
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno)
    if isinstance(exc, (TimeoutError, NatsTimeoutError)):
        return "timed out"
    return str(exc) or type(exc).__name__


class Broker:
    """A service's connection, which can be absent while the broker is unreachable.

    `url` may list several seed servers, comma-separated: the client connects to whichever
    answers, learns the rest of the cluster from it, and reconnects for ever. While it
    cannot connect or provision the streams, `problem` says why (readiness shows it) and
    the log has an ERROR line with the reason.
    """

    # A reason logged again after this long if it has not changed, so that a log read
    # later still shows that the broker is unreachable, without a line per attempt.
    REPEAT_AFTER = 60.0

    def __init__(self, url: str, name: str, *, replicas: int | None = None) -> None:
        self.seeds = nats_seeds(url)
        self.name = name
        self.replicas = replicas
        self.nc: NATS | None = None
        self.problem: str | None = "connecting"
        self._logged: tuple[str, float] | None = None
        self._closing = False
        # Set once connected: whoever awaits `jetstream()` before then waits for it.
        self._jetstream: asyncio.Future[JetStreamContext] | None = None

    def _trouble(self, problem: str, level: int = logging.ERROR) -> None:
        self.problem = problem
        now = time.monotonic()
        if self._logged is None or self._logged[0] != problem:
            log.log(level, "broker: %s", problem)
        elif now - self._logged[1] < self.REPEAT_AFTER:
            return
        else:
            log.log(level, "broker still: %s", problem)
        self._logged = (problem, now)

    def _fine(self, message: str) -> None:
        if self.problem is not None and self._logged is not None:
            log.info("broker: %s", message)
        self.problem = None
        self._logged = None

    async def _connect(self) -> NATS:
        """Connect to any seed, retrying for ever; each failure is reported."""
        seeds = ", ".join(_shown(seed) for seed in self.seeds)

        async def error(exc: Exception) -> None:
            if self.nc is not None and self.nc.is_connected:
                log.warning("nats: %r", exc)
            elif isinstance(exc, (OSError, TimeoutError, NatsTimeoutError)):
                self._trouble(f"no server answers ({seeds}): {_reason(exc)}")
            else:
                self._trouble(f"cannot connect ({seeds}): {_reason(exc)}")

        async def disconnected() -> None:
            if not self._closing:
                # Usually over in a moment (another node answers); if not, the attempts'
                # errors follow as ERROR lines.
                self._trouble(f"disconnected; reconnecting to any of {seeds}", logging.WARNING)

        async def reconnected() -> None:
            url = self.nc.connected_url if self.nc is not None else None
            self._fine(f"reconnected to {_shown(url.geturl()) if url else seeds}")

        return await nats.connect(
            self.seeds,
            name=self.name,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            connect_timeout=5,
            # A server that stops answering (paused, cut off) is given up after about 15 s
            # rather than the client's default of 4 minutes, and another seed is tried.
            ping_interval=5,
            max_outstanding_pings=3,
            allow_reconnect=True,
            error_cb=error,
            disconnected_cb=disconnected,
            reconnected_cb=reconnected,
        )

    async def run(self) -> None:
        """Connect (retrying until it works) and provision the streams."""
        while self.nc is None:
            try:
                # Kept at once, so that close() ends the connection (and the client's own
                # tasks) even when stopped while the streams are being provisioned.
                self.nc = await self._connect()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # With endless reconnects the client retries by itself; what ends up here
                # is a setting it refuses at once (a malformed seed).
                self._trouble(f"cannot connect: {exc!r}")
                await asyncio.sleep(2)
        js = self.nc.jetstream(timeout=5)
        # A stream whose leader died answers nothing until the others elect one (seconds):
        # ask with a short timeout, and again soon, so a restarted instance is ready then.
        provisioning = self.nc.jetstream(timeout=2)
        while True:
            try:
                await ensure_streams(provisioning, self.replicas)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Among them a replica count the servers cannot hold (NATS_REPLICAS above
                # the cluster's size, or above 1 on a single server).
                self._trouble(f"streams not provisioned: {_reason(exc)}")
                timed_out = isinstance(exc, (TimeoutError, NatsTimeoutError))
                await asyncio.sleep(0.2 if timed_out else 2)
                continue
            self._fine("connected and streams provisioned")
            self._connection().set_result(js)
            return

    async def run_in_background(self) -> None:
        self._task = asyncio.create_task(self.run())

    def _connection(self) -> asyncio.Future[JetStreamContext]:
        if self._jetstream is None:
            self._jetstream = asyncio.get_running_loop().create_future()
        return self._jetstream

    async def jetstream(self) -> JetStreamContext:
        """The JetStream context, once the broker has been reached."""
        return await asyncio.shield(self._connection())

    @property
    def ready(self) -> bool:
        provisioned = self._jetstream is not None and self._jetstream.done()
        return provisioned and self.nc is not None and self.nc.is_connected

    @property
    def unready_because(self) -> str | None:
        """Why the broker is not usable now, or None when it is."""
        if self.ready:
            return None
        if self.nc is not None and self.nc.is_connected and self.problem is None:
            return "connected; provisioning the streams"
        return self.problem or "reconnecting"

    async def close(self) -> None:
        self._closing = True
        task = getattr(self, "_task", None)
        if task is not None and not task.done():
            task.cancel()
        if self.nc is not None and not self.nc.is_closed:
            # Not drain(): the consumers are already stopped and anything unacked is
            # redelivered, while a cancelled pull fetch would make drain() wait its full
            # timeout.
            await self.nc.close()
