"""JetStream stream snapshots and restores over the server's own API, which nats-py does not
wrap: `$JS.API.STREAM.SNAPSHOT.<stream>` and `$JS.API.STREAM.RESTORE.<stream>`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

# Below the server's default maximum payload (1 MB), as the server's own chunks are.
CHUNK = 128 * 1024
# A snapshot that sends nothing for this long has stalled (the server gives up on a
# restore after 5 s without a chunk, and on a snapshot after 2 s without interest).
QUIET_FOR = 10.0


class SnapshotError(Exception):
    """The broker refused or broke off a snapshot or a restore; the message says why."""


def _answer(reply: Msg, what: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(reply.data)
    error = body.get("error")
    if error:
        raise SnapshotError(f"{what}: {error.get('description', error)}")
    return body


async def stream_names(nc: NATS) -> list[str]:
    reply = await nc.request("$JS.API.STREAM.NAMES", b"{}", timeout=5)
    return sorted(_answer(reply, "stream names").get("streams") or [])


async def deleted(nc: NATS, stream: str) -> set[int]:
    """The sequences deleted from the stream (erased events), as the server lists them."""
    request = json.dumps({"deleted_details": True}).encode()
    reply = await nc.request(f"$JS.API.STREAM.INFO.{stream}", request, timeout=10)
    return set(_answer(reply, f"information on {stream}")["state"].get("deleted") or [])


async def snapshot(nc: NATS, stream: str, into: Path) -> dict[str, Any]:
    """Write the stream's snapshot (messages and consumers with their acknowledged
    positions, as the server stores them) into `into`; return its configuration and state.

    The server sends chunks to a subject of ours, each with a reply subject that is its
    flow control: answering it lets the server send more. An empty message ends it."""
    deliver = nc.new_inbox()
    chunks: asyncio.Queue[Msg] = asyncio.Queue()

    async def receive(message: Msg) -> None:
        await chunks.put(message)

    subscription = await nc.subscribe(deliver, cb=receive)
    try:
        request = {"deliver_subject": deliver, "no_consumers": False, "chunk_size": CHUNK}
        reply = await nc.request(
            f"$JS.API.STREAM.SNAPSHOT.{stream}", json.dumps(request).encode(), timeout=10
        )
        meta = _answer(reply, f"snapshot of {stream}")
        with into.open("wb") as file:
            while True:
                async with asyncio.timeout(QUIET_FOR):
                    message = await chunks.get()
                status = (message.headers or {}).get("Status")
                if status and status != "200":
                    description = (message.headers or {}).get("Description", "")
                    raise SnapshotError(f"snapshot of {stream}: {status} {description}".strip())
                if not message.data:
                    break
                file.write(message.data)
                if message.reply:
                    await nc.publish(message.reply, b"")
            file.flush()
    finally:
        await subscription.unsubscribe()
    return {"config": meta["config"], "state": meta["state"]}


async def restore(nc: NATS, stream: str, meta: dict[str, Any], source: Path) -> dict[str, Any]:
    """Recreate the stream, with its consumers, from a snapshot; it must not exist yet.

    Each chunk is a request the server answers once it has stored it; the empty request
    at the end is answered with the restored stream's information, or the error."""
    reply = await nc.request(
        f"$JS.API.STREAM.RESTORE.{stream}", json.dumps(meta).encode(), timeout=10
    )
    deliver = _answer(reply, f"restore of {stream}")["deliver_subject"]
    with source.open("rb") as file:
        while chunk := file.read(CHUNK):
            await nc.request(deliver, chunk, timeout=10)
    done = await nc.request(deliver, b"", timeout=60)
    return _answer(done, f"restore of {stream}")
