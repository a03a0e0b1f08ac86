"""A lease in Mongo so that one relay per service publishes at a time (replicas stand by)."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from parkos.logging import get_logger

LEASES_COLLECTION = "outbox_lease"

log = get_logger(__name__)


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
            self._held_from(started)
        return held

    def _held_from(self, started: float) -> None:
        seconds = self._ttl.total_seconds()
        self.renewed_at, self.held_until = started, started + seconds - seconds / 6

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

    async def renew(self) -> bool:
        """Extend the lease only while it is still this relay's; False once it is not (never takes it)."""
        started = asyncio.get_running_loop().time()
        renewed = await self._leases.find_one_and_update(
            {"_id": "relay", "owner": self._owner},
            {"$set": {"expires_at": datetime.now(UTC) + self._ttl}},
        )
        if renewed is not None:
            self._held_from(started)
        return renewed is not None

    @contextlib.asynccontextmanager
    async def kept(self) -> AsyncIterator[None]:
        """Renew the lease in the background, while it is ours, as long as the block runs (it may outlast the lease)."""
        renewing = asyncio.create_task(self._renew_while_ours())
        try:
            yield
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing

    async def _renew_while_ours(self) -> None:
        while True:
            try:
                if not await self.renew():
                    return
            except Exception as error:  # noqa: BLE001 - the block must not lose its renewer; the next try may work
                log.warning("outbox lease renewal failed", error=str(error), error_type=type(error).__name__)
            await asyncio.sleep(self.renew_every)

    async def release(self) -> None:
        """Give the lease up at shutdown so a standby takes over at once."""
        await self._leases.delete_one({"_id": "relay", "owner": self._owner})

    @property
    def renew_every(self) -> float:
        """Seconds between renewals: well inside the lease's lifetime."""
        return self._ttl.total_seconds() / 3
