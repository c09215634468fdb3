"""Passport details sealed at rest: AES-256-GCM under a key derived from the service secret.

The key is derived with HKDF-SHA256 from `CAPITALS_SECRET` for this one purpose, so the
secret never encrypts anything itself and a key for another purpose is independent of
it. Each sealed value carries its own random 96-bit nonce and is bound to the
registration it belongs to (associated data): a value copied to another row does not
open. Decision record 21 (passport details encrypted at rest).
"""

from __future__ import annotations

import base64
import os
from functools import cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PURPOSE = b"capitals registration: visa letter passport details v1"
NONCE_BYTES = 12


@cache
def _cipher(secret: str) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE).derive(
        secret.encode()
    )
    return AESGCM(key)


def seal(secret: str, owner: str, plain: bytes) -> str:
    """`plain` encrypted for the row `owner`, as ASCII text for a Text column."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = _cipher(secret).encrypt(nonce, plain, owner.encode())
    return base64.b64encode(nonce + sealed).decode("ascii")


def unseal(secret: str, owner: str, text: str) -> bytes:
    """What `seal` sealed for `owner`; raises cryptography's InvalidTag on any other."""
    raw = base64.b64decode(text)
    return _cipher(secret).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], owner.encode())
