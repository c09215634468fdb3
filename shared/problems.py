"""Errors as RFC 9457 problem details, with the offending field named."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from shared.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    Unavailable,
    Unreadable,
)

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


# The one place that knows which HTTP status each kind of domain error is.
STATUS: dict[type[DomainError], int] = {
    Unreadable: 400,
    Invalid: 422,
    Conflict: 409,
    NotFound: 404,
    Forbidden: 403,
    Unavailable: 503,
}


def status_of(error: DomainError) -> int:
    """The HTTP status of a domain error, found through its class's ancestry (422 for none)."""
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 422


def _field_of(error: dict[str, Any]) -> str:
    """The field an input error is about, from Litestar's key or msgspec's message."""
    key = error.get("key")
    message = str(error.get("message", ""))
    if key in (None, "", "data", "body"):
        # msgspec names the path in its message: "Expected `int`, got `str` - at `$.capacity`"
        for marker in ("at `$.", "unknown field `", "required field `"):
            if marker in message:
                key = message.split(marker, 1)[1].split("`", 1)[0]
                break
    return str(key) if key else str(error.get("source") or "body")


def problem_response(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The problem details of any error a route lets through (500 for the unexpected)."""
    errors: list[dict[str, Any]] | None
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if isinstance(exc, DomainError):
        status = status_of(exc)
        detail = exc.message
        errors = [{"field": exc.field, "message": exc.message}] if exc.field else None
        extra = dict(exc.extra)
    elif isinstance(exc, HTTPException):
        status = exc.status_code
        detail = exc.detail
        errors = getattr(exc, "errors", None)
        if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
            errors = [
                {"field": _field_of(error), "message": str(error.get("message", ""))}
                for error in exc.extra
                if isinstance(error, dict)
            ]
            if errors:
                status = _refused_text(errors, status)
                first = errors[0]
                detail = f"{first['field']}: {first['message']}"
        elif isinstance(exc.extra, dict):
            extra = exc.extra
        headers = dict(exc.headers or {})
    else:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        status, detail, errors, extra, headers = (
            HTTP_500_INTERNAL_SERVER_ERROR,
            "internal error",
            None,
            {},
            {},
        )
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": _title(status),
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _refused_text(errors: list[dict[str, Any]], status: int) -> int:
    """Text refused for control or bidi-override characters is 422, like other refusals."""
    from shared.inputs import refusal

    reasons = [refusal(error["message"]) for error in errors]
    if not all(reasons):
        return status
    for error, reason in zip(errors, reasons, strict=True):
        error["message"] = reason or ""
    return 422


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class FieldProblem(msgspec.Struct):
    field: str
    message: str


class ProblemDetails(msgspec.Struct):
    """The body of every error answer, as `problem_response` writes it (for the OpenAPI
    description; a problem may carry more members, such as the clashes of a 409)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[FieldProblem] | None = None


WHY = {
    400: "The request does not parse: a malformed body, parameter or header.",
    401: "No staff token where one is needed, or a malformed, forged or expired one.",
    403: "A valid staff token that does not cover this.",
    404: "No such object, or one the caller may not know exists.",
    409: "The object's state does not allow this now.",
    413: "The body is over 1 MiB.",
    422: "The input breaks a rule; `errors` names the field.",
    429: "Too many requests from this address; Retry-After says when to try again.",
    503: "The service is starting or stopping; try again shortly.",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """The error answers of a route, for its `responses=`: 400 and 401 always (any route
    refuses an unparseable request, and a bad token on every route), plus `statuses`."""
    return {
        status: ResponseSpec(
            data_container=ProblemDetails,
            description=WHY[status],
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
        for status in sorted({400, 401, *statuses})
    }
