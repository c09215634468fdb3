"""Waiting for a wake-up or a timeout in a background loop, without swallowing a cancel."""

from __future__ import annotations

import asyncio


async def woken(event: asyncio.Event, within: float) -> bool:
    """Wait until `event` is set or `within` seconds have passed; True if it was set.

    Not `asyncio.wait_for`: on Python 3.11 it returns the inner result when a cancel
    arrives just as the event is set (python/cpython#86296), and a background loop that
    swallows its cancel never stops, which hangs the shutdown that waits for it.
    """
    try:
        async with asyncio.timeout(within):
            await event.wait()
    except TimeoutError:
        return False
    return True
