"""A lease in Mongo so that one relay per service publishes at a time (replicas stand by)."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

LEASES_COLLECTION = "outbox_lease"


class RelayLease:
    """Held by one relay; another may take it over once it expires."""

    def __init__(self, db: AsyncDatabase, owner: str, *, ttl: timedelta = timedelta(seconds=6)) -> None:
        self._leases = db[LEASES_COLLECTION]
        self._owner = owner
        self._ttl = ttl
        # event-loop time until which this relay may publish: a sixth of the lease short of the
        # earliest instant a successor may take it over (counted from before the last renewal
        # was sent), so what was handed to Kafka has time to land first
        self.renewed_at: float | None = None
        self.held_until: float | None = None

    async def acquire(self) -> bool:
        """Take or renew the lease; False while another live relay holds it."""
        started = asyncio.get_running_loop().time()
        held = await self._take_or_renew()
        if held:
            seconds = self._ttl.total_seconds()
            self.renewed_at, self.held_until = started, started + seconds - seconds / 6
        return held

    def seconds_left(self) -> float:
        """How long this relay may still publish on its last renewal (0 when it holds none)."""
        if self.held_until is None:
            return 0.0
        return max(self.held_until - asyncio.get_running_loop().time(), 0.0)

    async def _take_or_renew(self) -> bool:
        now = datetime.now(UTC)
        try:
            await self._leases.find_one_and_update(
                {"_id": "relay", "$or": [{"owner": self._owner}, {"expires_at": {"$lt": now}}]},
                {"$set": {"owner": self._owner, "expires_at": now + self._ttl}},
                upsert=True,
            )
        except DuplicateKeyError:
            # the lease exists, is live, and is someone else's: the upsert collided with it
            return False
        return True  # the filter matched (ours, or expired) or there was no lease yet

    @contextlib.asynccontextmanager
    async def kept(self) -> AsyncIterator[None]:
        """Renew the lease in the background while the block runs (it may outlast the lease)."""
        renewing = asyncio.create_task(self._renew_forever())
        try:
            yield
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing

    async def _renew_forever(self) -> None:
        while True:
            with contextlib.suppress(PyMongoError):
                await self.acquire()
            await asyncio.sleep(self.renew_every)

    async def release(self) -> None:
        """Give the lease up at shutdown so a standby takes over at once."""
        await self._leases.delete_one({"_id": "relay", "owner": self._owner})

    @property
    def renew_every(self) -> float:
        """Seconds between renewals: well inside the lease's lifetime."""
        return self._ttl.total_seconds() / 3
