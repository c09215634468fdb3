"""The invitation link: a secret derived from the invitation's id, and the URL that carries it."""

from __future__ import annotations

from shared import tokens
from shared.settings import Settings

TOKEN_PURPOSE = "invitation"


def invitation_token(settings: Settings, invitation_id: str) -> str:
    return tokens.derive(settings.secret, TOKEN_PURPOSE, invitation_id)


def invitation_url(settings: Settings, invitation_id: str) -> str:
    token = invitation_token(settings, invitation_id)
    return f"{settings.public_url('evaluation')}/evaluations/{token}"
