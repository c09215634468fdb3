"""Waiting, in blocking code, until a check comes true (a port open, a mail arrived)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll(check: Callable[[], T], timeout: float, interval: float) -> T | None:
    """Call `check` every `interval` seconds until it returns something truthy, and return
    that; once `timeout` seconds have passed, its last (falsy) answer, or None if none."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    return last
