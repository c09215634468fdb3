"""Waiting for a wake-up or a timeout in a background loop, without swallowing a cancel."""

from __future__ import annotations

import asyncio
from contextlib import suppress


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


class Wakeup:
    """An asyncio.Event of the loop that made it, which code on any loop or thread may set
    (a commit made from a second event loop in a test, a clock moved by a test)."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self._loop = asyncio.get_running_loop()

    def set(self) -> None:
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is self._loop:
            self.event.set()
            return
        # That loop may have stopped meanwhile: nobody is left to wake then.
        with suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self.event.set)

    async def wait(self, within: float) -> bool:
        """Wait until set or `within` seconds have passed (see `woken`); clear it after."""
        try:
            return await woken(self.event, within)
        finally:
            self.event.clear()
