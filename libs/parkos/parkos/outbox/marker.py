"""Marking published rows sent, after the fact, and storing the relay's position.

Marking costs one write per row (SecantusDB's Python server: ~1,000-1,800 rows/s whatever
the chunk size, 10x slower than the change stream reads rows; its Rust server: ~5,700 rows/s
in chunks of 25, half its change stream's rate, measured 2026-12-07). So it is kept off the
publishing path: rows are marked in commit order once Kafka acknowledged them, and while the relay
is draining a backlog the marker waits (it would take the store's time from the reads)
unless too much is left unmarked. The mark is bookkeeping - it starts the TTL that
expires sent rows and feeds the lag figures - and is what the stored position vouches
for, so a crash before it only means a re-send.
"""
from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from parkos.outbox.changes import Committed
from parkos.outbox.position import RelayPosition
from parkos.outbox.waiting import wait_set

# Ids per "mark sent" statement. A statement holds the outbox's write lock on SecantusDB's
# Python server and a long $in costs O(ids x rows) there; 25 ids keep a statement to a few
# ms at the same rows/s as bigger chunks (measured: bench/outbox/profile.py). The opt-in Rust
# server would mark ~1.7x faster in chunks of 100 (9,900 rows/s against 5,700).
MARK_CHUNK = 25


async def mark_sent(outbox: AsyncCollection, ids: list) -> None:
    """Mark rows `ids` sent now (this starts their expiry), chunk by chunk."""
    sent = {"$set": {"sent": True, "sent_at": datetime.now(UTC)}}
    for start in range(0, len(ids), MARK_CHUNK):
        await outbox.update_many({"_id": {"$in": ids[start:start + MARK_CHUNK]}}, sent)


@dataclass(slots=True)
class _Acknowledged:
    """One acknowledged batch as the marker keeps it: row ids only (not the rows), and the
    position after the batch (None when its rows came from a scan)."""

    ids: list
    token: Mapping[str, Any] | None


class SentMarker:
    """Marks acknowledged rows sent in commit order, then saves the position after them."""

    def __init__(self, outbox: AsyncCollection, position: RelayPosition, *, save_every: float = 1.0,
                 idle_save_every: float = 30.0) -> None:
        self._outbox = outbox
        self._position = position
        self._save_every = save_every
        self._idle_save_every = idle_save_every
        self._acked: deque[_Acknowledged] = deque()
        self._has_work = asyncio.Event()
        self._unmarked = 0
        self._token: Mapping[str, Any] | None = None  # the position after the last marked batch
        self._saved: Mapping[str, Any] | None = None
        self._saved_at = 0.0
        self._rows_since_save = 0

    @property
    def unmarked(self) -> int:
        """Rows acknowledged by Kafka and not yet marked sent."""
        return self._unmarked

    def acknowledged(self, items: list[Committed]) -> None:
        """Hand over a batch of rows (and ticks) Kafka acknowledged; batches come in commit order."""
        ids = [item.row["_id"] for item in items if item.row is not None]
        token = next((item.token for item in reversed(items) if item.token is not None), None)
        self._acked.append(_Acknowledged(ids, token))
        self._unmarked += len(ids)
        self._has_work.set()

    async def run(self, may_mark: Callable[[], Awaitable[None]]) -> None:
        """Mark forever; `may_mark` returns when marking no longer delays publishing."""
        loop = asyncio.get_running_loop()
        while True:
            await wait_set(self._has_work, self._save_every)
            if self._acked:
                await may_mark()
                await self._mark_chunk()
            else:
                self._has_work.clear()
            if self._save_due(loop.time()):
                await self._save(loop.time())

    async def flush(self) -> None:
        """Mark everything acknowledged so far and save the position (at shutdown)."""
        while self._acked:
            await self._mark_chunk()
        if self._token is not None and self._token != self._saved:
            await self._save(asyncio.get_running_loop().time())

    async def _mark_chunk(self) -> None:
        # Up to MARK_CHUNK ids from the oldest batches (small batches share a statement). A
        # batch leaves the queue only once all its rows are marked, and only then does the
        # position move past it; a cancelled statement is simply done again (it is idempotent).
        ids: list = []
        whole = partial = 0
        for batch in self._acked:
            room = MARK_CHUNK - len(ids)
            if len(batch.ids) > room:
                ids.extend(batch.ids[:room])
                partial = room
                break
            ids.extend(batch.ids)
            whole += 1
        if ids:
            await mark_sent(self._outbox, ids)
        for _ in range(whole):
            batch = self._acked.popleft()
            self._token = batch.token or self._token  # scanned rows carry none: the position stays
        if partial:
            del self._acked[0].ids[:partial]
        self._unmarked -= len(ids)
        self._rows_since_save += len(ids)

    def _save_due(self, now: float) -> bool:
        if self._token is None or self._token == self._saved:
            return False
        if self._saved is None:
            return True  # a first position at once: a restart then skips the scan
        every = self._save_every if self._rows_since_save else self._idle_save_every
        return now - self._saved_at >= every

    async def _save(self, now: float) -> None:
        await self._position.save(self._token)
        self._saved, self._saved_at, self._rows_since_save = self._token, now, 0
