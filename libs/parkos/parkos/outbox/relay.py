"""The outbox relay: publishes unsent outbox rows to Kafka in order, then marks them sent."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from parkos.ids import new_id
from parkos.logging import get_logger
from parkos.outbox.lease import RelayLease
from parkos.outbox.metrics import OutboxMetrics
from parkos.outbox.writer import OUTBOX_COLLECTION

log = get_logger(__name__)

ProducerFactory = Callable[[], AIOKafkaProducer]

# Ids per "mark sent" statement. One $in over a whole large batch costs O(ids x rows) on
# SecantusDB (each candidate row is matched against the list); chunks keep it linear and
# cost nothing on MongoDB (an _id index scan either way).
MARK_CHUNK = 200


class OutboxRelay:
    """Drains the outbox of one service database into Kafka.

    Rows are read in _id (UUIDv7) order and sent without waiting record by record;
    the producer is idempotent, so each partition keeps that order. Rows are marked
    sent only after every record of the batch is acknowledged by all replicas. A
    crash anywhere therefore loses nothing and can only re-send: consumers
    de-duplicate by event_id.
    """

    def __init__(
        self,
        db: AsyncDatabase,
        producer_factory: ProducerFactory,
        *,
        service: str,
        relay_id: str | None = None,
        lease_seconds: float = 6.0,
        batch_size: int = 2000,
        idle_poll_seconds: float = 0.2,
        retry_seconds: float = 1.0,
        lag_every_seconds: float = 5.0,
    ) -> None:
        self._outbox = db[OUTBOX_COLLECTION]
        self._producer_factory = producer_factory
        # a stable relay_id (e.g. the pod name) lets a restarted process take its own lease back at once;
        # otherwise a successor waits for the dead relay's lease to expire
        self._lease = RelayLease(db, owner=relay_id or new_id("rly"), ttl=timedelta(seconds=lease_seconds))
        self._metrics = OutboxMetrics(service)
        self._batch_size = batch_size
        self._idle_poll_seconds = idle_poll_seconds
        self._retry_seconds = retry_seconds
        self._lag_every_seconds = lag_every_seconds
        self._lag_observed_at: float | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._producer: AIOKafkaProducer | None = None
        self.published = 0

    def notify(self) -> None:
        """Call after a commit that appended events: the relay publishes without waiting for its poll."""
        self._wake.set()

    async def start(self) -> None:
        """Run the relay loop in the background."""
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        """Stop after the batch in flight; unsent rows stay for the next start."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close_producer()
        with contextlib.suppress(PyMongoError):
            await self._lease.release()

    async def drain_once(self) -> int:
        """Publish one batch of unsent rows; returns how many were published."""
        rows = await self._outbox.find({"sent": False}).sort("_id", 1).limit(self._batch_size).to_list()
        if not rows:
            return 0
        producer = await self._open_producer()
        deliveries = [
            await producer.send(row["topic"], row["value"], key=row["key"].encode(),
                                headers=[(name, bytes(value)) for name, value in row["headers"]])
            for row in rows
        ]
        await asyncio.gather(*deliveries)
        sent = {"$set": {"sent": True, "sent_at": datetime.now(UTC)}}
        ids = [row["_id"] for row in rows]
        for start in range(0, len(ids), MARK_CHUNK):
            await self._outbox.update_many({"_id": {"$in": ids[start:start + MARK_CHUNK]}}, sent)
        self._metrics.published(rows)
        self.published += len(rows)
        return len(rows)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        lease_checked = 0.0
        holding = False
        while True:
            try:
                if loop.time() - lease_checked >= self._lease.renew_every:
                    holding = await self._lease.acquire()
                    lease_checked = loop.time()
                published = await self.drain_once() if holding else 0
                if published < self._batch_size:
                    await self._lag_and_wait()
            except (KafkaError, PyMongoError, OSError, asyncio.TimeoutError) as error:
                log.warning("outbox relay retrying", error=str(error), error_type=type(error).__name__)
                await self._close_producer()  # a fresh producer after a broker failure
                await asyncio.sleep(self._retry_seconds)

    async def _lag_and_wait(self) -> None:
        # two queries: at most every lag_every_seconds, not on every idle turn of the loop,
        # where they would delay the next publish
        now = asyncio.get_running_loop().time()
        if self._lag_observed_at is None or now - self._lag_observed_at >= self._lag_every_seconds:
            self._lag_observed_at = now
            await self._metrics.observe_lag(self._outbox)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self._idle_poll_seconds)
        self._wake.clear()

    async def _open_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = self._producer_factory()
            await producer.start()
            self._producer = producer
        return self._producer

    async def _close_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await producer.stop()
