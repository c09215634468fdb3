"""The HTTP server `capitals serve` runs: uvicorn, quieter when idle."""

from __future__ import annotations

from types import FrameType

import uvicorn

from shared.wakeups import Wakeup


class QuietServer(uvicorn.Server):
    """uvicorn's server, ticking once a second instead of ten times a second (what it does
    on a tick, the Date header, needs no more); a signal to stop ends the wait at once."""

    async def main_loop(self) -> None:
        self._stop_asked = Wakeup()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            # on_tick refreshes the Date header when the counter is a multiple of 10.
            counter = (counter + 10) % 864000
            await self._stop_asked.wait(1.0)
            should_exit = await self.on_tick(counter)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        stop_asked = getattr(self, "_stop_asked", None)
        if stop_asked is not None:
            stop_asked.set()
