"""Where the relay is in the outbox's commit log: one document, written once per batch, not per row.

The position is a change-stream resume token. Its meaning is strict: every outbox row
committed before it has been acknowledged by Kafka *and* marked sent. A restart resumes
the change stream just after it, so it re-sends at most the rows published but not yet
marked, and never skips one. Any relay may write it (the lease decides who publishes, not
who may record progress): a position written by a relay that lost its lease is still
true, since that relay only wrote it after its own rows were published and marked.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

POSITIONS_COLLECTION = "outbox_position"
_RELAY = "relay"  # one relay per service database, so one position


class RelayPosition:
    """The stored position of a service database's relay."""

    def __init__(self, db: AsyncDatabase) -> None:
        self._positions = db[POSITIONS_COLLECTION]

    async def load(self) -> Mapping[str, Any] | None:
        """The resume token to continue after, or None when the relay has never stored one."""
        stored = await self._positions.find_one({"_id": _RELAY})
        return stored["token"] if stored else None

    async def save(self, token: Mapping[str, Any]) -> None:
        """Record that every row committed before `token` is published and marked sent."""
        await self._positions.update_one(
            {"_id": _RELAY}, {"$set": {"token": dict(token), "saved_at": datetime.now(UTC)}}, upsert=True
        )

    async def forget(self) -> None:
        """Drop a position the store can no longer resume from; the next start scans unsent rows."""
        await self._positions.delete_one({"_id": _RELAY})
