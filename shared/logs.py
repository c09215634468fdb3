"""Structured JSON logs that carry the correlation id from request to event to consumer,
with the secrets that links carry in their paths redacted from every line."""

from __future__ import annotations

import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

import msgspec

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)

REDACTED = "[redacted]"

# The path segment after each of these is a bearer secret: a manage token
# (/manage/{token}), an evaluation invitation (/evaluations/{token}), a personal calendar
# feed (/calendars/{token}.ics) and a staff sign-in link (/sign-in/{token}). Matched
# anywhere in a line: an access line's path, a full link in a message, a traceback.
_SECRET_IN_PATH = re.compile(r"(/(?:manage|evaluations|calendars|sign-in)/)[^/?#\s\"'<>]+")
# The same secrets as query parameters (?token=...), should a client send them so.
_SECRET_IN_QUERY = re.compile(r"([?&](?:token|manage_token|feed_token)=)[^&#\s\"'<>]+")


def redact(text: str) -> str:
    """`text` with every link secret replaced by [redacted]."""
    if "/" not in text and "=" not in text:
        return text
    return _SECRET_IN_QUERY.sub(rf"\1{REDACTED}", _SECRET_IN_PATH.sub(rf"\1{REDACTED}", text))


def current_correlation_id() -> str:
    """The id of the request or event being handled, or a fresh one outside of both."""
    return correlation_id.get() or str(uuid.uuid4())


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        cid = correlation_id.get()
        if cid:
            entry["correlation_id"] = cid
        # uvicorn's access lines: `client - "METHOD path HTTP/x" status`, args in that order.
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            _, method, path, _, status = args
            entry.update(method=method, path=redact(str(path)), status=status)
        for key in ("event_id", "subject", "consumer", "status", "path", "method"):
            value = record.__dict__.get(key)
            if value is not None:
                entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["error"] = redact(self.formatException(record.exc_info))
        elif record.stack_info:
            entry["error"] = redact(self.formatStack(record.stack_info))
        return msgspec.json.encode(entry).decode()


def configure(service: str, level: str = "INFO") -> None:
    """Every record of the process, uvicorn's and the libraries' included, as one JSON line
    on standard error. Loggers that were given handlers of their own (uvicorn's default
    configuration, a library's) hand their records to the root's handler instead."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in list(logging.root.manager.loggerDict):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    for noisy in ("nats", "aiosqlite", "asyncio"):
        logging.getLogger(noisy).setLevel("WARNING")
