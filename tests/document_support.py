"""Sample trainings for rendering the participant's PDFs (certificate, letter) without a
running service: the attributes the renderers read, built from a few sessions."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any


def session(title: str, kind: str, starts_at: str, ends_at: str) -> dict[str, str]:
    """A scheduled session as the registration service keeps it in its catalogue."""
    return {
        "title": title,
        "kind": kind,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "status": "scheduled",
    }


def sample_training(
    host_country: str,
    title: str,
    city: str,
    timezone: str,
    sessions: list[dict[str, str]],
    **more: Any,
) -> SimpleNamespace:
    """A training as the renderers read it; it runs from its first session's day to its
    last one's. `more` adds attributes (a `language`, say)."""
    days = [date.fromisoformat(s["starts_at"][:10]) for s in sessions]
    return SimpleNamespace(
        host_country=host_country,
        title=title,
        city=city,
        starts_on=min(days),
        ends_on=max(days),
        timezone=timezone,
        sessions=sessions,
        **more,
    )
