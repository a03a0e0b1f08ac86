"""Revoked token ids, kept in memory until their tokens would have expired anyway."""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

_DEFAULT_GRACE = timedelta(minutes=5)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class RevocationList:
    """A thread-safe set of revoked token ids, fed by revocation events.

    ``loaded=False``: the list starts empty and must not be trusted until ``mark_loaded``
    (every revocation published before the service started has been read); until then the
    verifier refuses tokens with UNAVAILABLE rather than accept one revoked earlier.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] = _utc_now,
        grace: timedelta = _DEFAULT_GRACE,
        loaded: bool = True,
    ) -> None:
        # ``grace`` must exceed the verifiers' clock leeway: a token is still
        # accepted a little after its expiry, so its revocation must outlive it.
        self._clock = clock
        self._grace = grace
        self._lock = threading.Lock()
        self._expiry_by_token: dict[str, datetime | None] = {}
        self._by_expiry: list[tuple[datetime, str]] = []  # min-heap to forget cheaply
        self._loaded = threading.Event()
        if loaded:
            self._loaded.set()

    @property
    def loaded(self) -> bool:
        """Whether every revocation made before this service started is in the list."""
        return self._loaded.is_set()

    def mark_loaded(self) -> None:
        """The revocations made before start are all in (the feed caught up with the topic)."""
        self._loaded.set()

    def revoke(self, token_id: str, expires_at: datetime | None = None) -> None:
        """Revoke ``token_id``; with ``expires_at`` it is forgotten once that has passed."""
        if not token_id:
            raise ValueError("token_id is required")
        if expires_at is not None and expires_at.tzinfo is None:
            raise ValueError("expires_at must carry a time zone")
        with self._lock:
            self._forget_expired(self._clock())
            if token_id in self._expiry_by_token:
                expires_at = _later(self._expiry_by_token[token_id], expires_at)
            self._expiry_by_token[token_id] = expires_at
            if expires_at is not None:
                heapq.heappush(self._by_expiry, (expires_at, token_id))

    def is_revoked(self, token_id: str) -> bool:
        """Whether ``token_id`` has been revoked."""
        with self._lock:
            return token_id in self._expiry_by_token

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiry_by_token)

    def _forget_expired(self, now: datetime) -> None:
        while self._by_expiry and self._by_expiry[0][0] + self._grace < now:
            expires_at, token_id = heapq.heappop(self._by_expiry)
            # A later revoke may have extended (or removed) the expiry; keep those.
            if self._expiry_by_token.get(token_id, None) == expires_at:
                del self._expiry_by_token[token_id]


def _later(current: datetime | None, new: datetime | None) -> datetime | None:
    # None means "never expires", which outlives any date.
    if current is None or new is None:
        return None
    return max(current, new)
