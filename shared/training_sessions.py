"""What every view of a training's session starts with: the API's answer and a calendar's."""

from __future__ import annotations

from datetime import datetime

import msgspec


class SessionHead(msgspec.Struct, frozen=True):
    """Which session of which training, what it is and when: the API's `SessionOut` and the
    calendars' `FeedSession` both begin with these. (The event's `SessionData` cannot: an
    event payload has one base, `Payload`, whose `revision` comes right after `id`.)

    Positional, so that a subclass's own fields follow these in the same order on the wire;
    frozen, so a subclass is too (a calendar's sessions are values; an answer is built once)."""

    id: str
    training_id: str
    title: str
    kind: str
    starts_at: datetime
    ends_at: datetime
