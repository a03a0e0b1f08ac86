"""Closing demand pools when their time comes, in the background of every replica.

Every ``interval`` seconds each replica looks for open pools whose closing time has
passed and closes each in one transaction (pool, every member's order, settlement and
license rows, and the events), so a close happens entirely or not at all:

- two replicas closing the same pool conflict on the pool document; the loser's retry
  reads the pool as closed and does nothing;
- a crash before the commit leaves the pool open, and the next look (on any replica,
  after a restart) closes it;
- the settlements ledger's unique index on order_id refuses a second settlement of any
  order whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta

from parkos.errors import FailedPrecondition, ParkError
from parkos.ids import new_correlation_id
from parkos.logging import get_logger
from pymongo.errors import PyMongoError

from services.trades.ids import new_order_ids
from services.trades.pools import Pool
from services.trades.store import TradesStore, Transaction

log = get_logger(__name__)


async def close_pool(store: TradesStore, pool_id: str, *, now: datetime, correlation_id: str | None = None) -> Pool | None:
    """Close one pool if it is still open and due; returns it closed, or None when there was nothing to do."""
    return await store.transaction(lambda tx: close_in(tx, pool_id, now=now),
                                   correlation_id=correlation_id or new_correlation_id())


async def close_in(tx: Transaction, pool_id: str, *, now: datetime) -> Pool | None:
    """The work of one close, inside the caller's transaction (the pool, its orders and ledgers, the events)."""
    pool = await tx.pool(pool_id)
    if not pool.is_due(now):
        return None  # closed already (another replica, an earlier attempt), or not yet due
    members = await tx.pool_members(pool_id)
    product = await tx.product(pool.product_id)
    parties, rates = await tx.directory(pool.seller_tenant_id, *(order.buyer.tenant_id for order in members))
    seller = parties.get(pool.seller_tenant_id)
    rate = rates.get(seller.sub_park_id) if seller is not None else None
    closed, changed, events = pool.closed(
        members, product=product, seller=seller, buyers=parties, fee_rate=rate, ids=new_order_ids, now=now
    )
    before = {order.order_id: order for order in members}
    await tx.save_pool(closed)
    await tx.save_orders((before[order.order_id], order) for order in changed)
    tx.record(*events)
    return closed


class PoolCloser:
    """Looks for due pools every ``interval`` seconds and closes them."""

    def __init__(
        self, store: TradesStore, *, clock: Callable[[], datetime], interval: float = 1.0, batch: int = 20,
        waiting_retry: timedelta = timedelta(seconds=30),
    ) -> None:
        self._store = store
        self._clock = clock
        self._interval = interval
        self._batch = batch
        self._task: asyncio.Task[None] | None = None
        self.closed = 0
        # pools that could not close yet (their seller's rate unknown) -> when to try again: many
        # of them must not cost a transaction and a warning each, every look
        self._waiting_retry = waiting_retry
        self._waiting: dict[str, datetime] = {}

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="pool-closer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def close_due(self) -> int:
        """Close every pool due now, ``batch`` at a time; returns how many this call closed.

        A pool that cannot close yet (its seller's fee rate unknown) or whose close failed is
        passed over until the next look, and the pages go on past it: pools stuck at the head
        of the queue never keep the others from closing.
        """
        now = self._clock()
        self._waiting = {pool_id: at for pool_id, at in self._waiting.items() if at > now}
        closed, after = 0, None
        while True:
            due = await self._store.due_pools(now, self._batch, after=after)
            for pool in due:
                if self._waiting.get(pool.pool_id, now) <= now:
                    closed += await self._close_one(pool.pool_id, now)
            if len(due) < self._batch:
                break
            after = due[-1]
        self.closed += closed
        return closed

    async def _close_one(self, pool_id: str, now: datetime) -> int:
        try:
            pool = await close_pool(self._store, pool_id, now=now)
        except FailedPrecondition as error:
            # e.g. the seller's fee rate is not known yet: the pool waits for it, nobody can join
            log.warning("pool not closed yet", pool_id=pool_id, reason=error.message,
                        retry_in_s=self._waiting_retry.total_seconds())
            self._waiting[pool_id] = now + self._waiting_retry
            return 0
        except (ParkError, PyMongoError) as error:  # e.g. a concurrent change outlived the retries: next look
            log.warning("pool close failed, will retry", pool_id=pool_id, error=str(error),
                        error_type=type(error).__name__)
            return 0
        self._waiting.pop(pool_id, None)
        if pool is None:
            return 0
        log.info("pool closed", pool_id=pool_id, status=str(pool.status), members=pool.members,
                 discount_bps=pool.discount_bps, dropped=pool.dropped_members)
        return 1

    async def _run(self) -> None:
        while True:
            try:
                await self.close_due()
            except (PyMongoError, ParkError, OSError) as error:
                log.warning("pool closer retrying", error=str(error), error_type=type(error).__name__)
            except Exception:  # a bug must not stop every future close: log it loudly and look again
                log.exception("pool closer failed")
            await asyncio.sleep(self._interval)
