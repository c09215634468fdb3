"""Domain errors: what a rule refuses, with the field it is about; no HTTP here."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal by a domain rule, e.g. `Conflict("already registered", field="email")`."""

    def __init__(self, message: str, *, field: str | None = None, **extra: object) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra: dict[str, object] = extra


class Unreadable(DomainError):
    """The request itself cannot be read: a body nested too deep, not UTF-8, a NUL (400)."""


class Invalid(DomainError):
    """The input breaks a rule (422)."""


class Conflict(DomainError):
    """The object's state does not allow this now (409)."""


class NotFound(DomainError):
    """No such object, or one the caller may not know exists (404)."""


class Forbidden(DomainError):
    """The caller may not do this (403)."""


class Unavailable(DomainError):
    """Not possible right now; try again shortly (503)."""
