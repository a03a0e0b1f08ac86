"""Hashing of token secrets kept at rest."""

from __future__ import annotations

import hashlib


def hash_token_secret(token: str) -> str:
    """The sha256 hex digest of ``token``, the form in which stored credentials are kept."""
    # A fast hash is right here, unlike for passwords: tokens are long random or
    # signed strings, so there is no small space of guesses for a slow hash
    # (bcrypt, argon2) to protect, and lookups by hash stay cheap.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
