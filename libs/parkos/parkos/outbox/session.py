"""One leased run of the relay: committed rows in commit order -> Kafka -> marked sent.

The stages overlap, joined by in-order queues: the reader fetches rows from the change
stream (the store is the bottleneck, so it never waits for Kafka), the publisher sends
them with up to `in_flight` batches unacknowledged, the acknowledgements are collected in
order, and the marker marks acknowledged rows sent and stores the position after them. Without a usable stored position the reader first scans
unsent rows, with the change stream already opened so no commit falls between the two.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from parkos.logging import get_logger
from parkos.outbox.changes import ChangeReader, Committed, PositionLost, open_changes
from parkos.outbox.lease import RelayLease
from parkos.outbox.marker import SentMarker
from parkos.outbox.metrics import OutboxMetrics
from parkos.outbox.position import RelayPosition
from parkos.outbox.publish import InFlightBatches
from parkos.outbox.scan import highest_id, unsent_pages
from parkos.outbox.waiting import wait_set

log = get_logger(__name__)


@dataclass(frozen=True)
class SessionOptions:
    """How a session batches, waits and gives way."""

    batch_size: int  # rows per Kafka batch, and per page of a scan
    await_ms: int  # how long the server may hold an empty getMore
    quiet_pause: float  # seconds between empty getMores unless notified
    lag_every: float  # seconds between counts of the backlog, when caught up
    max_unmarked: int  # past this many acknowledged, unmarked rows, marking no longer waits
    in_flight: int = 4  # batches sent and not yet acknowledged
    flush_seconds: float = 2.0  # at the end, time allowed to mark what Kafka acknowledged


@dataclass(frozen=True)
class SessionParts:
    """What a session works with; the relay owns them across sessions."""

    outbox: AsyncCollection
    position: RelayPosition
    lease: RelayLease
    producer: AIOKafkaProducer
    metrics: OutboxMetrics
    wake: asyncio.Event
    on_published: Callable[[int], None]


class PublishingSession:
    """Publishes while this relay holds the lease."""

    def __init__(self, parts: SessionParts, options: SessionOptions) -> None:
        self._parts = parts
        self._options = options
        self._queue: asyncio.Queue[Committed] = asyncio.Queue(maxsize=2 * options.batch_size)
        self._marker = SentMarker(parts.outbox, parts.position)
        self.sending = False  # True while rows may be handed to Kafka
        self.stopped_sending_at: float | None = None  # event-loop time

    @property
    def unmarked(self) -> int:
        """Rows Kafka acknowledged that this session has not marked sent yet."""
        return self._marker.unmarked

    async def run(self) -> None:
        """Publish until the lease is lost (returns) or a stage fails (raises)."""
        stored = await self._parts.position.load()
        try:
            stream = await open_changes(self._parts.outbox, stored, await_ms=self._options.await_ms)
        except PositionLost as lost:
            log.warning("outbox position lost: scanning unsent rows", error=str(lost))
            await self._parts.position.forget()
            stored = None
            stream = await open_changes(self._parts.outbox, None, await_ms=self._options.await_ms)
        reader = ChangeReader(stream, self._queue, self._parts.wake, quiet_pause=self._options.quiet_pause)
        batches = InFlightBatches(self._parts.producer, slots=self._options.in_flight)
        lost = False
        if self._parts.lease.seconds_left() <= 0:  # opening the producer and the stream took the lease's time
            log.warning("outbox relay started too late in its lease: it sends nothing this time")
            self._parts.metrics.session_ended("started_late")
            await self._finish(stream)
            return
        self.sending = True
        try:
            await first_to_end(
                self._read(reader, scan_first=stored is None),
                self._publish(reader, batches),
                batches.settle(lambda items: self._acknowledged(items, reader, batches)),
                self._marker.run(lambda: self._may_mark(reader)),
                self._keep_lease(),
                self._observe(reader),
                cancelled=self._stop_sending,
            )
        except PositionLost as error:
            log.warning("outbox change stream ended: the next session scans unsent rows", error=str(error))
            lost = True
        finally:
            self._stop_sending()
            await self._finish(stream)
        if lost:
            await self._parts.position.forget()

    def _stop_sending(self) -> None:
        if self.sending:
            self.sending = False
            self.stopped_sending_at = asyncio.get_running_loop().time()

    async def _read(self, reader: ChangeReader, *, scan_first: bool) -> None:
        if scan_first:
            # the mark is read after the stream opened: every row above it comes through the stream
            mark = await highest_id(self._parts.outbox)
            async for rows in unsent_pages(self._parts.outbox, self._options.batch_size, up_to_id=mark):
                for row in rows:
                    reader.scanned.add(row["_id"])
                    await self._queue.put(Committed(row, None))
        await reader.run()

    async def _publish(self, reader: ChangeReader, batches: InFlightBatches) -> None:
        while True:
            await batches.send(await self._take_batch())
            self._report_lag(batches, reader)

    async def _take_batch(self) -> list[Committed]:
        items = [await self._queue.get()]
        while len(items) < self._options.batch_size and not self._queue.empty():
            items.append(self._queue.get_nowait())
        return items

    def _acknowledged(self, items: list[Committed], reader: ChangeReader, batches: InFlightBatches) -> None:
        rows = [item.row for item in items if item.row is not None]
        self._marker.acknowledged(items)
        self._parts.metrics.published(rows)
        self._parts.on_published(len(rows))
        self._report_lag(batches, reader)

    def _report_lag(self, batches: InFlightBatches, reader: ChangeReader) -> None:
        head = batches.oldest_row()
        if head is None and not (reader.caught_up.is_set() and self._queue.empty()):
            return  # rows not sent yet are older than anything known: keep the last figure
        self._parts.metrics.oldest_waiting(head)

    async def _may_mark(self, reader: ChangeReader) -> None:
        # marking takes the store's time from the reads: wait until the backlog is read,
        # unless so much is unmarked that a restart would re-send too much
        while not reader.caught_up.is_set() and self._marker.unmarked < self._options.max_unmarked:
            await wait_set(reader.caught_up, 0.5)

    async def _keep_lease(self) -> None:
        # Publishing stops when a renewal has not come back before the last one runs out (the
        # store unreachable or stalled): a successor may take the lease soon after, and this
        # relay's rows must reach Kafka before that one's, not interleaved with them.
        lease = self._parts.lease
        loop = asyncio.get_running_loop()
        while True:
            assert lease.held_until is not None and lease.renewed_at is not None  # a session starts leased
            try:
                async with asyncio.timeout_at(lease.held_until):
                    await asyncio.sleep(max(lease.renewed_at + lease.renew_every - loop.time(), 0.0))
                    held = await lease.renew()
            except TimeoutError:
                log.warning("outbox relay could not renew its lease in time: it stops publishing")
                self._parts.metrics.session_ended("renewal_late")
                return
            if not held:
                log.info("outbox relay lost its lease")
                self._parts.metrics.session_ended("lease_lost")
                return

    async def _observe(self, reader: ChangeReader) -> None:
        while True:
            await asyncio.sleep(self._options.lag_every)
            if not reader.caught_up.is_set():
                continue
            if self._marker.unmarked > self._options.batch_size:
                # Counting the unsent rows reads each of them on a store that cannot count by
                # index (SecantusDB's Python server: ~1.1 s of its time at 20,000 rows): not while
                # the marker works through a drained backlog, whose marking and lease renewals
                # the count would slow down. The marker's own figure is exact meanwhile.
                self._parts.metrics.observe_unmarked(self._marker.unmarked)
            else:
                await self._parts.metrics.observe_backlog(self._parts.outbox, self._marker.unmarked)

    async def _finish(self, stream) -> None:
        # what Kafka acknowledged is marked now if it can be (a restart then re-sends less);
        # if the store is the trouble, or time runs out, a restart re-sends it instead
        with contextlib.suppress(PyMongoError, OSError, TimeoutError):
            async with asyncio.timeout(self._options.flush_seconds):
                await self._marker.flush()
        with contextlib.suppress(PyMongoError, OSError, TimeoutError):
            async with asyncio.timeout(self._options.flush_seconds):  # a stalled store must not hold the relay here
                await stream.close()


async def first_to_end(*coroutines: Coroutine[Any, Any, None], cancelled: Callable[[], None] = lambda: None) -> None:
    """Run `coroutines` together until the first one ends; re-raise its error; cancel the rest
    (calling `cancelled` as soon as they are told to stop, before they have all ended)."""
    tasks = [asyncio.ensure_future(coroutine) for coroutine in coroutines]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        # none of them runs its own code again; some may take long to end (a change stream's
        # read does not end on cancellation while the store does not answer)
        cancelled()
        await asyncio.gather(*tasks, return_exceptions=True)
