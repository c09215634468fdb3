"""Background loops wait for a wake-up or a timeout and still stop when cancelled."""

from __future__ import annotations

import asyncio

import pytest

from shared.wakeups import woken


async def test_woken_says_whether_the_event_was_set() -> None:
    event = asyncio.Event()
    assert await woken(event, 0.01) is False
    event.set()
    assert await woken(event, 0.01) is True


async def test_a_cancel_arriving_as_the_event_is_set_still_stops_the_loop() -> None:
    # The race asyncio.wait_for loses on Python 3.11: the wake-up and the cancel in the
    # same turn of the event loop (it swallowed all 200 cancels here). Each must stop.
    async def loop(event: asyncio.Event) -> None:
        while True:
            await woken(event, 5)
            event.clear()

    for _ in range(200):
        event = asyncio.Event()
        task = asyncio.create_task(loop(event))
        await asyncio.sleep(0)
        event.set()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=2)
