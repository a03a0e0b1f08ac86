"""Opaque, signed cursors for list calls.

A page token carries the id of the last item returned and a fingerprint of the call it
belongs to (the method, its filters and the caller). It is signed with HMAC-SHA256, so a
tampered token, a token from another query or a token of another caller is refused with
INVALID_ARGUMENT on ``page.page_token`` instead of silently returning the wrong page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from parkos.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
_FIELD = "page.page_token"
_VERSION = 1


class PageTokens:
    """Signs and checks page tokens with one secret (shared by every replica)."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the page-token secret must be at least 16 bytes")
        self._secret = secret

    def encode(self, *, last_id: str, query: Mapping[str, Any], caller: str) -> str:
        """A token that resumes ``query`` for ``caller`` after ``last_id``."""
        body = json.dumps({"v": _VERSION, "after": last_id, "q": _fingerprint(query, caller)}, separators=(",", ":"))
        raw = body.encode()
        return f"{_b64(raw)}.{_b64(self._sign(raw))}"

    def decode(self, token: str, *, query: Mapping[str, Any], caller: str) -> str | None:
        """The id to resume after; None for an empty token; InvalidArgument for a bad one."""
        if not token:
            return None
        body_part, dot, signature_part = token.partition(".")
        try:
            raw, signature = _unb64(body_part), _unb64(signature_part)
        except (ValueError, binascii.Error):
            raise _bad("is not a page token of this service") from None
        if not dot or not hmac.compare_digest(signature, self._sign(raw)):
            raise _bad("is not a page token of this service")
        body = json.loads(raw)
        if body.get("v") != _VERSION or not isinstance(body.get("after"), str):
            raise _bad("is not a page token of this service")
        if not hmac.compare_digest(body.get("q", ""), _fingerprint(query, caller)):
            raise _bad("belongs to another query; repeat the same filters or start without a token")
        return body["after"]

    def _sign(self, raw: bytes) -> bytes:
        return hmac.new(self._secret, raw, hashlib.sha256).digest()


def page_size(requested: int) -> int:
    """The page size to use: the default for 0, capped at the maximum; negative is refused."""
    if requested < 0:
        raise InvalidArgument.for_field("page.page_size", "must not be negative")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def _fingerprint(query: Mapping[str, Any], caller: str) -> str:
    canonical = json.dumps({"query": dict(query), "caller": caller}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _bad(description: str) -> InvalidArgument:
    return InvalidArgument.for_field(_FIELD, description)
