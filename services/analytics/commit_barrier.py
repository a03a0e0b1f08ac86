"""The Faust producer and consumer analytics runs with: no offset is committed past a record
that was not processed, nor before what processing it wrote is acknowledged.

What faust-streaming 0.15.3 does (read in its source):

1. An agent's event is *acked* when the agent asks for the next one: ``Stream._py_aiter``
   (faust/streams.py) acks in the ``finally`` after ``yield value`` returns. With
   concurrency 1 this is after the agent body finished the event, including its table
   writes. It also acks when the body raises (the generator is closed; handlers.py never
   lets an exception out) and -- the dangerous one -- it acks records it *skips without
   giving them to the agent*: those fetched under an older consumer generation or while
   flow control is suspended around a rebalance (faust-streaming PR #223).
2. ``Consumer.commit`` (faust/transport/consumer.py) commits, per partition, the offset after
   the last *contiguous* acked one (``_new_offset``). Before committing, ``_commit_offsets``
   calls ``await self.app.producer.flush()`` (faust-streaming PR #273).
3. After a rebalance ``perform_seek`` -> aiokafka ``seek_to_committed`` moves each partition
   back to its committed offset, but only when that offset is > 0: a partition that never
   had a commit keeps the fetch position it had, past the records skipped in (1).
   Together, (1) and (3) lose records: observed here with two workers, the first records
   of a fresh partition, published during the rebalance that split the partitions, were
   skipped, acked and committed, and never applied (robinhood/faust #115 describes the same).
4. Table writes do not go to Kafka directly: ``Table.on_key_set`` -> ``send_changelog`` ->
   ``Topic.send_soon`` puts the record in the ``ProducerBuffer`` (faust/transport/producer.py),
   which a background task hands to aiokafka.
5. ``ProducerBuffer.flush`` (``flush_atmost(None)``) gives up as soon as no record left the
   buffer within 0.1 s, returning with records still in it; aiokafka's
   ``AIOKafkaProducer.flush`` only ``asyncio.wait``s for the batches it already holds and
   ignores their failures. So the stock flush may let a commit through while a changelog
   record of an acked event is still buffered, in flight, or failed. The producer is also
   neither idempotent nor ``acks=all`` outside exactly_once mode (``Producer._settings_extra``).
6. After a rebalance, ``Recovery.on_recovery_completed`` (faust/tables/recovery.py) resumes the
   stream partitions, awaits ``perform_seek``, then calls ``app.flow_control.resume()`` and only
   then ``consumer.resume_flow()``. But the consumer flow is already running at that point:
   recovery resumed it to read the changelogs (or, with nothing to recover, right before). So
   the fetcher hands the agents records -- aiokafka prefetched them for every assigned partition
   -- during the seek, and ``flow_control.resume()`` then empties the agents' buffers
   (``FlowControlEvent.resume`` clears every ``clear_on_resume`` queue) with those records in
   them: never processed, never acked, while ``Consumer._read_offset`` already stands past them.
   What follows depends on the timing, and all of it was observed here with two workers and a
   SIGKILL: the re-fetch from the committed offset is dropped by ``_drain_messages`` as already
   read ("DROPPED MESSAGE ROFF"), so the partition's commit stops at the first lost record
   forever while the totals stay short (the "stall"); or ``perform_seek``'s reset of the read
   offset mid-batch makes ``_drain_messages`` see a "gap" and ``_add_gap`` declares the lost
   records acked; or, on a partition without a commit, ``_new_offset`` commits past them.

What this module changes, through the transport's classes (no patching of Faust's code):

- ``ProcessedOnlyConsumer.ack`` ignores the acks of records the stream skipped (they were
  never ``tracked``: the stream marks a record tracked only when it hands it to the agent),
  so such a record is never committed; ``RewindingConsumerThread.seek_to_committed`` moves
  partitions without a committed offset back to their beginning, so the skipped records are
  fetched again and processed. (Re-processing is harmless: see ``domain.ledger.decide``.)
- ``DurableProducer`` tracks every record handed to it (``send`` and ``send_soon``) until its
  delivery is known, and its ``flush`` -- the one the commit path calls -- waits until every
  record sent so far is acknowledged by the broker, raising if one failed or the wait timed
  out. A raising flush aborts the commit; the worker crashes and restarts from the previous
  commit, which the ledger guards make harmless. It also turns on idempotence and acks=all.
- ``ProcessedOnlyConsumer.resume_partitions`` holds back stream partitions resumed while the
  flow runs (only Recovery does that, right before its seek) until ``resume_flow``, which
  Recovery calls after the seek and after emptying the buffers. Nothing is fetched for the
  agents in between, so nothing is emptied away, and what they get afterwards starts at the
  committed offsets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable, Mapping
from typing import Any

from faust.transport.drivers.aiokafka import Consumer as AIOKafkaFaustConsumer
from faust.transport.drivers.aiokafka import Producer as AIOKafkaFaustProducer
from faust.types import TP, Message
from faust.types.tuples import FutureMessage

from parkos.logging import get_logger

from services.analytics.fetch_wait import FAUST_FETCH_MAX_WAIT_MS, FetchWaitThread

log = get_logger(__name__)


class UndeliveredWrite(RuntimeError):
    """A record the commit depends on was not acknowledged: the commit must not happen."""


class WriteTracker:
    """The records sent and not yet acknowledged, and a barrier that waits for all of them.

    A failed write is remembered for good: the event it belonged to may already be acked,
    so no later commit is safe either. The worker must crash and replay from the last commit.
    """

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._pending: set[asyncio.Future[Any]] = set()
        self.failure: BaseException | None = None

    def __len__(self) -> int:
        return len(self._pending)

    def track(self, future: asyncio.Future[Any]) -> None:
        self._pending.add(future)
        future.add_done_callback(self._settled)

    def _settled(self, future: asyncio.Future[Any]) -> None:
        self._pending.discard(future)
        if future.cancelled():
            error: BaseException | None = asyncio.CancelledError("record send cancelled")
        else:
            error = future.exception()
        if error is not None and self.failure is None:
            self.failure = error
            log.error("a record was not written; no offset will be committed again", error=repr(error))

    async def wait_all(self) -> None:
        """Return once every record tracked so far is acknowledged; UndeliveredWrite otherwise."""
        if self._pending:
            _done, not_done = await asyncio.wait(list(self._pending), timeout=self._timeout)
            if not_done:
                raise UndeliveredWrite(f"{len(not_done)} records unacknowledged after {self._timeout:g} s")
            await asyncio.sleep(0)  # let the done callbacks of the last futures run
        if self.failure is not None:
            raise UndeliveredWrite(f"a record was not written: {self.failure!r}") from self.failure


class DurableProducer(AIOKafkaFaustProducer):
    """faust's aiokafka producer, idempotent, whose ``flush`` is a real commit barrier."""

    flush_timeout: float = 60.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.writes = WriteTracker(self.flush_timeout)

    def _settings_extra(self) -> Mapping[str, Any]:
        return {**super()._settings_extra(), "acks": "all", "enable_idempotence": True}

    async def send(self, topic: str, key: bytes | None, value: bytes | None, partition: int | None,
                   timestamp: float | None, headers: Any, *, transactional_id: str | None = None
                   ) -> Awaitable[Any]:
        future = await super().send(
            topic, key, value, partition, timestamp, headers, transactional_id=transactional_id
        )
        self.writes.track(future)  # type: ignore[arg-type]
        return future

    def send_soon(self, fut: FutureMessage) -> None:
        # Tracked before it enters the buffer: the barrier covers records still buffered.
        self.writes.track(fut)
        super().send_soon(fut)

    async def flush(self) -> None:
        """Hand over everything buffered, then wait until all of it is acknowledged."""
        await super().flush()
        await self.writes.wait_all()


def durable_producer_class(flush_timeout: float) -> type[DurableProducer]:
    """A DurableProducer subclass bound to ``flush_timeout`` (the transport instantiates it)."""
    return type("DurableProducer", (DurableProducer,), {"flush_timeout": flush_timeout})


class RewindingConsumerThread(FetchWaitThread):
    """Seeks partitions that have no committed offset (or 0) back to their first record."""

    async def seek_to_committed(self) -> Mapping[TP, int]:
        committed = await super().seek_to_committed()
        changelogs = self.app.tables.changelog_topics
        unstarted = [tp for tp, offset in committed.items() if not offset and tp.topic not in changelogs]
        if unstarted:
            await self.seek_to_beginning(*unstarted)
        return committed


class ProcessedOnlyConsumer(AIOKafkaFaustConsumer):
    """faust's aiokafka consumer, committing only records an agent was given (and finished)."""

    skipped_acks = 0
    fetch_max_wait_ms = FAUST_FETCH_MAX_WAIT_MS  # read by the consumer thread (fetch_wait.py)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Stream partitions Recovery resumed while the flow was running, until it resumes the flow.
        self._held_partitions: set[TP] = set()
        super().__init__(*args, **kwargs)

    def _new_consumer_thread(self) -> RewindingConsumerThread:
        return RewindingConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def resume_partitions(self, tps: Iterable[TP]) -> None:
        """Resume fetching ``tps``; stream partitions wait for ``resume_flow`` if the flow runs (see (6))."""
        tps = set(tps)
        held = {tp for tp in tps if not self._is_changelog_tp(tp)} if self.flow_active else set()
        self._held_partitions |= held
        super().resume_partitions(tps - held)

    def pause_partitions(self, tps: Iterable[TP]) -> None:
        """Stop fetching ``tps``, held back ones included (a rebalance pauses everything it had)."""
        tps = set(tps)
        self._held_partitions -= tps
        super().pause_partitions(tps)

    def resume_flow(self) -> None:
        """Let records flow to the agents again, from the held-back stream partitions too."""
        # Recovery calls this after its seek and after emptying the agents' buffers: from here
        # on, what the held partitions deliver starts at their committed offsets.
        held, self._held_partitions = self._held_partitions, set()
        if held:
            super().resume_partitions(held & self.assignment())
        super().resume_flow()

    def ack(self, message: Message) -> bool:
        if not message.tracked:
            # Skipped by the stream (fetched before a rebalance): not processed, so not done.
            # It is fetched again from the committed offset (or the beginning) and processed.
            self.skipped_acks += 1
            return False
        return super().ack(message)


def processed_only_consumer_class(fetch_max_wait_ms: int) -> type[ProcessedOnlyConsumer]:
    """A ProcessedOnlyConsumer subclass whose fetches wait at most ``fetch_max_wait_ms`` (the
    transport instantiates it)."""
    return type("ProcessedOnlyConsumer", (ProcessedOnlyConsumer,), {"fetch_max_wait_ms": fetch_max_wait_ms})
