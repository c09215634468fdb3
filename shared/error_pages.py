"""Errors as a person sees them: a browser asking for a page that is not there, gone or
refused gets an HTML page in the site's frame; API clients keep their problem details.

Which one is negotiated here, once for every service: an HTML page when the request
prefers `text/html` to JSON (browsers say so in every navigation) and its route is not
part of the API (routes left out of the OpenAPI description: pages, feeds, or no route at
all); the status and headers are those of the problem details either way."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.response import Template

from shared import i18n
from shared.i18n import _
from shared.problems import PROBLEM_JSON, problem_response

# The statuses a page explains (with 500 to 599); the others (400, 401, 403, 413, 429) stay
# problem details, which the pages that can cause them handle themselves.
PAGE_STATUSES = frozenset({404, 409, 410, 422})
HTML = "text/html"


def _wants_page(request: Request[Any, Any, Any], status: int) -> bool:
    if status not in PAGE_STATUSES and not 500 <= status < 600:
        return False
    in_schema = getattr(request.scope.get("route_handler"), "resolve_include_in_schema", None)
    if in_schema is not None and in_schema():
        return False  # an API route answers problem details whatever the client accepts
    return request.accept.best_match([PROBLEM_JSON, "application/json", HTML]) == HTML


def _explanation(status: int) -> tuple[str, str]:
    """The page's heading and its helpful sentence, in the language being spoken."""
    if status == 404:
        return _("Page not found"), _(
            "There is no page at this address. The link may be mistyped or out of date."
        )
    if status == 410:
        return _("This link has expired"), _(
            "The link you followed is no longer valid. Ask for a new one, or start again "
            "from the home page."
        )
    if status == 409:
        return _("This cannot be done now"), _(
            "What you asked for does not fit how things stand at the moment. Reload the "
            "page to see the current state."
        )
    if status == 422:
        return _("Something in the request is not right"), _(
            "Please go back, check what you entered and try again."
        )
    return _("Something went wrong on our side"), _(
        "We could not answer your request just now. Please try again in a few minutes."
    )


def _home(request: Request[Any, Any, Any]) -> str:
    """Where the page's link home goes: the service's own front page, or, for evaluation
    (whose front page is for staff), the list of trainings on scheduling."""
    settings = request.app.state.settings
    service = request.app.state.service
    return str(settings.link("scheduling" if service == "evaluation" else service, "/"))


def error_response(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Problem details, or the same answer as a page for a browser on a non-API route."""
    problem = problem_response(request, exc)
    status = int(problem.status_code or 500)
    if not _wants_page(request, status):
        return problem
    title, sentence = _explanation(status)
    headers = {
        name: value
        for name, value in dict(problem.headers).items()
        if name.lower() not in {"content-type", "content-length"}
    }
    return Template(
        template_name="error.html",
        context={
            "lang": i18n.language(),
            "status": status,
            "title": title,
            "sentence": sentence,
            "home": _home(request),
        },
        status_code=status,
        media_type=HTML,
        headers=headers,
    )


exception_handlers: dict[type[Exception] | int, Any] = {Exception: error_response}
