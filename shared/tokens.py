"""Secrets in links (manage, calendar, invitation): derived by the server, stored only as hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac


def derive(secret: str, purpose: str, subject_id: str, generation: int = 1) -> str:
    """A link token the server can reproduce, so a lost link can be mailed again.

    HMAC-SHA256 of the purpose, id and generation under CAPITALS_SECRET: 256
    unpredictable bits. Bumping `generation` revokes the previous token.
    """
    message = f"{purpose}:{subject_id}:{generation}".encode()
    mac = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def matches(token: str, stored_digest: str) -> bool:
    """Constant-time comparison of a presented token with a stored SHA-256."""
    return hmac.compare_digest(digest(token), stored_digest)
