"""Committed outbox rows in commit order, read from a change stream on the outbox.

Why a change stream and not `find(sent=False).sort(_id)` from a high-water mark: row
_ids are UUIDv7 built *before* commit, so a row with a smaller _id can commit after a
larger one was published; a high-water mark on _id would skip it forever. The change
stream hands rows over in commit order, and its resume token is a position that a
restart can continue from. It is also the cheapest read the store offers (SecantusDB's
Python server: ~80 us of server time per event against ~350 us per row for an indexed,
sorted find).
"""
from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.change_stream import AsyncChangeStream
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import OperationFailure

from parkos.outbox.waiting import wait_set

# Server answers meaning "this resume token will never work": the history behind it was
# pruned from the oplog (286), it is malformed (9) or not resumable (260, 280). Falling
# back to a scan of unsent rows is then the only way on; it is always safe (it can only
# re-send), so the list errs on the side of falling back.
UNUSABLE_POSITION_CODES = frozenset({9, 260, 280, 286})

# Operation types after which the stream cannot go on (the outbox was dropped or renamed).
_ENDS_STREAM = frozenset({"invalidate", "drop", "dropDatabase", "rename"})

# A row the store committed less than this long before it was read is a fresh commit, not a
# backlog: the reader is keeping up with the writers.
FRESH_COMMIT_SECONDS = 1.0


class PositionLost(Exception):
    """The stored position cannot be resumed from; unsent rows must be found by a scan."""


@dataclass(slots=True)
class Committed:
    """One committed outbox row, in commit order.

    `row` None: no row, the stream only moved past other activity (an idle tick).
    `token` None: a row found by a scan, which carries no stream position.
    """

    row: dict | None
    token: Mapping[str, Any] | None


async def open_changes(outbox: AsyncCollection, after: Mapping[str, Any] | None, *,
                       await_ms: int) -> AsyncChangeStream:
    """A change stream on `outbox` continuing after `after`, or from now when it is None.

    `await_ms` bounds how long the server holds an empty getMore. Raises PositionLost when
    `after` can no longer be resumed from.
    """
    try:
        return await outbox.watch(resume_after=after, max_await_time_ms=await_ms)
    except OperationFailure as error:
        if after is not None and error.code in UNUSABLE_POSITION_CODES:
            raise PositionLost(str(error)) from error
        raise


class ChangeReader:
    """Reads the stream into a queue, and says whether it has caught up with the outbox."""

    def __init__(self, stream: AsyncChangeStream, queue: asyncio.Queue, wake: asyncio.Event, *,
                 quiet_pause: float) -> None:
        self._stream = stream
        # ids a scan already queued: a row committed between the stream's opening and the scan
        # comes through both, and the stream's copy needs no second send
        self.scanned: set = set()
        self._queue = queue
        self._wake = wake
        self._quiet_pause = quiet_pause
        self._last_tick: Mapping[str, Any] | None = None
        # set while there is no backlog behind the rows already read: from an empty getMore, or
        # while the rows read were committed just before (under steady writes a getMore is never
        # empty); cleared by an older row. The marker's own updates come through the stream
        # too, and do not count as backlog.
        self.caught_up = asyncio.Event()

    async def run(self) -> None:
        """Queue every committed row, in commit order, until cancelled or the stream fails."""
        while True:
            change = await self._stream.try_next()
            if change is None:
                self.caught_up.set()
                self.scanned.clear()  # the stream has passed every row the scan could have seen
                await self._tick()
                await self._pause()
                continue
            kind = change.get("operationType")
            if kind == "insert" and change["documentKey"]["_id"] not in self.scanned:
                if committed_just_now(change):
                    self.caught_up.set()
                else:
                    self.caught_up.clear()
                await self._queue.put(Committed(change["fullDocument"], change["_id"]))
            elif kind in _ENDS_STREAM:
                raise PositionLost(f"the outbox change stream ended: {kind}")
            # updates (rows marked sent) and deletes (rows expired) are not events to publish

    async def _tick(self) -> None:
        # an empty batch still moves the position past other collections' writes; passing it
        # on lets a quiet outbox's stored position keep up with the oplog instead of falling
        # off its end
        token = self._stream.resume_token
        if token is not None and token != self._last_tick:
            self._last_tick = token
            await self._queue.put(Committed(None, token))

    async def _pause(self) -> None:
        # The server wakes an awaiting getMore on a write to *any* collection, so polling again
        # at once would cost a round trip per write in the whole store. A commit in this process
        # calls notify() and ends the pause at once; a commit elsewhere waits at most the pause.
        await wait_set(self._wake, self._quiet_pause)
        self._wake.clear()


def committed_just_now(change: Mapping[str, Any]) -> bool:
    """Whether the store committed `change` within FRESH_COMMIT_SECONDS of now (its wallTime, on
    the store's clock: a skew between the hosts only moves when rows are marked, which is
    bookkeeping). False for a change without wallTime."""
    committed_at = change.get("wallTime")
    if not isinstance(committed_at, datetime) or committed_at.tzinfo is None:
        return False
    return (datetime.now(UTC) - committed_at).total_seconds() < FRESH_COMMIT_SECONDS
