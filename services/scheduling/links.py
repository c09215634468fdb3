"""The URLs scheduling hands out: pages, calendar feeds and registration's form."""

from __future__ import annotations

from shared.settings import Settings


def base_url(settings: Settings) -> str:
    return settings.link("scheduling", "")


def register_url(settings: Settings, training_id: str) -> str:
    return settings.link("registration", f"/register/{training_id}")


def training_page_url(settings: Settings, training_id: str) -> str:
    return settings.link("scheduling", f"/trainings/{training_id}/page")


def training_calendar_url(settings: Settings, training_id: str) -> str:
    return settings.link("scheduling", f"/trainings/{training_id}/calendar.ics")


def series_page_url(settings: Settings, slug: str) -> str:
    return settings.link("scheduling", f"/series/{slug}/page")


def series_calendar_url(settings: Settings, slug: str) -> str:
    return settings.link("scheduling", f"/series/{slug}/calendar.ics")


def webcal(url: str) -> str:
    """The same feed for calendar apps that subscribe to webcal:// links."""
    return "webcal://" + url.split("://", 1)[1]


def sign_in_url(settings: Settings, token: str) -> str:
    return settings.link("scheduling", f"/sign-in/{token}")
