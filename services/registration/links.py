"""A participant's links: the manage link of a registration, the personal calendar link, the
certificate and its verification page.

Only the SHA-256 of each token is stored; the token is derived from the service secret, so a
mail can carry the link again without storing it."""

from __future__ import annotations

from shared import tokens
from shared.settings import Settings


def manage_token(settings: Settings, registration_id: str) -> str:
    return tokens.derive(settings.secret, "manage", registration_id, 1)


def manage_url(settings: Settings, registration_id: str) -> str:
    token = manage_token(settings, registration_id)
    return f"{settings.public_url('registration')}/manage/{token}"


def feed_token(settings: Settings, participant_id: str, generation: int) -> str:
    return tokens.derive(settings.secret, "feed", participant_id, generation)


def calendar_url(settings: Settings, participant_id: str, generation: int) -> str:
    token = feed_token(settings, participant_id, generation)
    return f"{settings.public_url('scheduling')}/calendars/{token}.ics"


def training_page_url(settings: Settings, training_id: str) -> str:
    """The training's public page on scheduling: its timetable, venue and calendar links."""
    return f"{settings.public_url('scheduling')}/trainings/{training_id}/page"


def certificate_url(settings: Settings, registration_id: str) -> str:
    """The participant's certificate of attendance, reached with the manage token."""
    return f"{manage_url(settings, registration_id)}/certificate.pdf"


def verification_url(settings: Settings, number: str) -> str:
    """The public page that says whether a certificate is genuine (its QR code)."""
    return f"{settings.public_url('registration')}/certificates/{number}"
