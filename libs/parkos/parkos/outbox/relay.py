"""The outbox relay: publishes committed outbox rows to Kafka in commit order, then marks them sent."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import timedelta

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from parkos.ids import new_id
from parkos.logging import get_logger
from parkos.outbox.lease import RelayLease
from parkos.outbox.marker import mark_sent
from parkos.outbox.metrics import OutboxMetrics
from parkos.outbox.position import RelayPosition
from parkos.outbox.publish import send_rows
from parkos.outbox.scan import unsent_batch
from parkos.outbox.session import PublishingSession, SessionOptions, SessionParts
from parkos.outbox.writer import OUTBOX_COLLECTION

log = get_logger(__name__)

ProducerFactory = Callable[[], AIOKafkaProducer]

_RETRYABLE = (KafkaError, PyMongoError, OSError, asyncio.TimeoutError)


class OutboxRelay:
    """Drains the outbox of one service database into Kafka.

    Rows are read from a change stream on the outbox, i.e. in commit order, and sent
    without waiting record by record; the producer is idempotent (acks=all), so each
    partition keeps that order. Rows are marked sent after Kafka acknowledged them, and
    then the stream position after them is stored (one write per batch). A crash
    anywhere therefore loses nothing and can only re-send: the next start resumes after
    the stored position, or, when there is none the store can resume from, scans the
    rows not marked sent. Consumers de-duplicate by event_id. One relay per service
    database publishes at a time (a lease); the others stand by.

    Fencing: the lease fences the store, not Kafka. So a relay hands no new rows to Kafka
    once a renewal has not come back before its last one runs out, a sixth of the lease
    before a successor may take over (the store unreachable or stalled), nor when its
    session starts too late in its lease; and its producer keeps the lease, while it is
    still this relay's, until it has stopped, however long its held batches take to be
    delivered or to fail (a broker outage), so a successor only starts once the old
    producer can deliver nothing more. Gaps remain (found in review, 2026-11-23): when the
    lease was lost or fenced, the producer still delivers what it holds while it stops
    (aiokafka has no public abort), and a relay process paused past its lease delivers
    what it held when it resumes; such rows can land after a successor re-sent them and
    newer ones. Expiry is compared on the relays' own clocks, so skew beyond a sixth of the
    lease weakens the fence. Consumers de-duplicate, but a compacted topic can keep the
    older copy as the key's last value. A transactional producer per service (its
    successor's init fences the old one) would close these. A start without position
    scans only up to the highest id when the stream opened, which keeps each key's order
    while the writers' clocks agree (see `scan.unsent_pages`).
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
        quiet_pause_seconds: float = 0.05,
        max_unmarked: int = 50_000,
    ) -> None:
        self._outbox = db[OUTBOX_COLLECTION]
        self._position = RelayPosition(db)
        self._producer_factory = producer_factory
        # a stable relay_id (e.g. the pod name) lets a restarted process take its own lease back at once;
        # otherwise a successor waits for the dead relay's lease to expire
        self._lease = RelayLease(db, owner=relay_id or new_id("rly"), ttl=timedelta(seconds=lease_seconds))
        self._metrics = OutboxMetrics(service)
        self._batch_size = batch_size
        self._retry_seconds = retry_seconds
        # idle_poll_seconds: how long the store may hold a getMore that found nothing (it answers as
        # soon as anything is written); quiet_pause_seconds: the least time between two such getMores
        # unless notify() is called; max_unmarked: see SessionOptions
        self._options = SessionOptions(
            batch_size=batch_size, await_ms=max(1, int(idle_poll_seconds * 1000)),
            quiet_pause=quiet_pause_seconds, lag_every=lag_every_seconds, max_unmarked=max_unmarked,
        )
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._producer: AIOKafkaProducer | None = None
        self._closing: asyncio.Future | None = None  # the last producer's close, with the lease kept
        self.published = 0
        self.session: PublishingSession | None = None  # the last leased run (tests and tools look at it)

    def notify(self) -> None:
        """Call after a commit that appended events: the relay looks for them without waiting for its poll."""
        self._wake.set()

    async def start(self) -> None:
        """Run the relay loop in the background."""
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        """Stop publishing; rows acknowledged by Kafka are marked sent if that is quick, the rest
        are re-sent by the next start."""
        try:
            if self._task:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        finally:  # even when the loop had died of an error, which is re-raised after this
            await self._close_producer()  # also waits for a close that the cancelled loop had begun
            with contextlib.suppress(PyMongoError, TimeoutError):
                async with asyncio.timeout(self._lease.renew_every):
                    await self._lease.release()

    async def drain_once(self) -> int:
        """Publish and mark sent one batch of rows not marked sent, found by a scan in _id order;
        returns how many. For tools and tests: a running relay reads the change stream instead."""
        rows = await unsent_batch(self._outbox, self._batch_size)
        if not rows:
            return 0
        producer = await self._open_producer()
        await (await send_rows(producer, rows))
        await mark_sent(self._outbox, [row["_id"] for row in rows])
        self._count_published(len(rows))
        self._metrics.published(rows)
        return len(rows)

    async def _run(self) -> None:
        while True:
            try:
                if await self._lease.acquire():
                    await self._publish_while_leased()
                    # the lease was lost or could not be renewed in time: no new rows go out from here
                    # (the producer still delivers what it holds while it stops; see the class docstring)
                    await self._close_producer()
                else:
                    self._metrics.standing_by()
                    await asyncio.sleep(self._lease.renew_every)
            except _RETRYABLE as error:
                log.warning("outbox relay retrying", error=str(error), error_type=type(error).__name__)
                await self._close_producer()  # a fresh producer after a broker failure
                await asyncio.sleep(self._retry_seconds)

    async def _publish_while_leased(self) -> None:
        # returns when the lease is lost; the producer is opened only once the lease is held
        parts = SessionParts(
            outbox=self._outbox, position=self._position, lease=self._lease, producer=await self._open_producer(),
            metrics=self._metrics, wake=self._wake, on_published=self._count_published,
        )
        self.session = PublishingSession(parts, self._options)
        await self.session.run()

    def _count_published(self, count: int) -> None:
        self.published += count

    async def _open_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = self._producer_factory()
            try:
                await producer.start()
            except BaseException:  # a half-started producer keeps its client and connections: stop it
                with contextlib.suppress(Exception):
                    await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def _close_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            self._closing = asyncio.ensure_future(self._stop_producer(producer))
        if self._closing is not None:
            # shielded: a stop() that cancels the loop in the middle waits for this close
            # before it releases the lease, instead of leaving a live sender behind
            await asyncio.shield(self._closing)

    async def _stop_producer(self, producer: AIOKafkaProducer) -> None:
        # Until it has stopped, the producer may still deliver the batches it holds (in a
        # broker outage, until its request timeout, far longer than the lease). The lease
        # stays ours meanwhile, if it still is, so no successor can publish newer rows that
        # these would then land after (on a compacted topic, the older copy would become the
        # key's value).
        async with self._lease.kept():
            with contextlib.suppress(Exception):
                await producer.stop()

    @property
    def lease(self) -> RelayLease:
        """The relay's lease (tests and tools look at it)."""
        return self._lease
