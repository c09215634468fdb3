"""The one clock every time-based rule reads; tests set or advance it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class Clock:
    """Wall-clock time in UTC, which a test can pin (`set`) and move (`advance`)."""

    def __init__(self) -> None:
        self._fixed: datetime | None = None
        # Called when a test moves the clock: time-based jobs look again at once.
        self._watchers: list[Callable[[], None]] = []

    def watch(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` whenever the clock is set, advanced or reset; returns the call
        that stops it."""
        self._watchers.append(callback)
        return lambda: self._watchers.remove(callback)

    def _moved(self) -> None:
        for callback in list(self._watchers):
            callback()

    def now(self) -> datetime:
        return self._fixed if self._fixed is not None else datetime.now(UTC)

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("the clock takes offset-aware times")
        self._fixed = moment.astimezone(UTC)
        self._moved()

    def advance(self, delta: timedelta) -> None:
        self._fixed = self.now() + delta
        self._moved()

    def reset(self) -> None:
        self._fixed = None
        self._moved()


clock = Clock()
