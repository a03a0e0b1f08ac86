"""The Faust producer and consumer analytics runs with: no offset is committed past a record
that was not processed in order, nor before what processing it wrote is acknowledged.

What faust-streaming 0.15.3 does (read in its source):

1. An agent's event is *acked* when the agent asks for the next one, after the agent body
   finished it (concurrency 1). The worker runs Faust's compiled stream iterator
   (``faust/_cython/streams.pyx``), which inlines ``Message.ack`` and ``Consumer.ack``:
   overriding ``Consumer.ack`` changes nothing there. (It does not ack the records it skips
   -- fetched under an older consumer generation or while flow control is suspended around a
   rebalance -- whereas the pure-Python ``Stream._py_aiter`` does, faust-streaming PR #223.)
2. ``Consumer.commit`` (faust/transport/consumer.py) commits, per partition, the offset after
   the last *contiguous* acked one (``_new_offset``). Before committing, ``_commit_offsets``
   calls ``await self.app.producer.flush()`` (faust-streaming PR #273). Three things let that
   offset pass records no agent processed: the fetch loop (``_drain_messages``) declares a
   jump between its read offset and a fetched record a "gap" and counts it acked
   (``_add_gap``, the revealing record included); it drops re-fetched records below a read
   offset that a stale batch moved forward ("DROPPED MESSAGE ROFF"); and ``_new_offset``
   accepts acks that start one past the committed offset, skipping the record at it.
3. After a rebalance ``perform_seek`` -> aiokafka ``seek_to_committed`` moves each partition
   back to its committed offset, but only when that offset is > 0: a partition that never
   had a commit keeps the fetch position it had, past records fetched and skipped around
   the rebalance (robinhood/faust #115 describes the loss this causes).
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
   the fetcher hands the agents records during the seek, and ``flow_control.resume()`` then
   empties the agents' buffers (``FlowControlEvent.resume`` clears every ``clear_on_resume``
   queue) with those records in them, while ``Consumer._read_offset`` already stands past them.
   Observed here with two workers and a SIGKILL: the re-fetch from the committed offset was
   dropped as already read, so the partition's commit stopped there while the totals stayed
   short; or (2)'s gap counted the emptied records as acked.

Records processed out of order are as bad as records skipped: the ledger guard
(``domain.ledger.decide``) treats a fact below the highest offset applied to its tenant as a
replay, so a fact applied after a later one of its partition is lost for good.

What this module changes, through the transport's classes (no patching of Faust's code):

- ``ProcessedOnlyConsumer`` keeps the worker's own account of each partition
  (partition_order.py) and decides itself which record an agent processes. Faust keeps no
  read offsets any more (``UnreadOffsets``): every fetched record reaches the agent, so none
  is dropped as already read nor counted as acked by a gap. ``perform_seek`` starts the
  account at the offsets just sought: the committed ones, or the first record for a
  partition without a commit, which ``RewindingConsumerThread.seek_to_committed`` rewinds to
  its beginning. An agent processes a record only if ``admit`` says it is its partition's
  next one; a record read again or fetched before the seek is skipped; a record that comes
  before records the agent never got is skipped too, and the partition is fetched again
  from the record expected (through the consumer thread, where aiokafka's state lives).
  ``resume_flow`` fetches every partition again from its next record, as Faust has just
  emptied the agents' buffers, and a timer does so for a partition that made no progress for
  30 s while the broker holds more. ``_new_offset`` returns only the offset below which the
  agents finished every record in order, whatever Faust acked. A rebalance (``stop_flow``)
  closes admission until the next seek. (Re-processing is harmless: ``domain.ledger.decide``.)
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
from collections.abc import Awaitable, Iterable, Iterator, Mapping, MutableMapping
from typing import Any

from aiokafka.errors import KafkaError
from faust.transport.drivers.aiokafka import Consumer as AIOKafkaFaustConsumer
from faust.transport.drivers.aiokafka import Producer as AIOKafkaFaustProducer
from faust.types import TP, Message
from faust.types.tuples import FutureMessage

from parkos.logging import get_logger

from services.analytics.fetch_wait import FAUST_FETCH_MAX_WAIT_MS, FetchWaitThread
from services.analytics.partition_order import Admission, PartitionOrder

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


class UnreadOffsets(MutableMapping[TP, int | None]):
    """Faust's read offsets, never kept: every fetched record goes to the agent, which decides.

    Faust's fetch loop drops a record below a partition's read offset and counts a jump above
    it as acked (``_add_gap``); around a seek, a stale batch moves that offset past records
    fetched again, which then never reach the agent. The agents' admission
    (partition_order.py) does the dropping instead, knowing what was processed.
    """

    def __getitem__(self, tp: TP) -> None:
        return None

    def __setitem__(self, tp: TP, offset: int | None) -> None:
        pass

    def __delitem__(self, tp: TP) -> None:
        pass

    def __iter__(self) -> Iterator[TP]:
        return iter(())

    def __len__(self) -> int:
        return 0


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
    """faust's aiokafka consumer, committing only records the agents finished, in partition order."""

    fetch_max_wait_ms = FAUST_FETCH_MAX_WAIT_MS  # read by the consumer thread (fetch_wait.py)
    compacted_topics: frozenset[str] = frozenset()  # the broker leaves holes in their offsets

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Stream partitions Recovery resumed while the flow was running, until it resumes the flow.
        self._held_partitions: set[TP] = set()
        self.order = PartitionOrder()
        self._sought: Mapping[TP, int | None] = {}
        self._seeks: set[asyncio.Future[None]] = set()
        super().__init__(*args, **kwargs)
        self._read_offset = UnreadOffsets()

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
        # on, what the held partitions deliver starts at their committed offsets. The buffers
        # may also have held records fetched after the seek (a partition newly assigned
        # fetches before Faust pauses it): every stream partition is fetched again from its
        # next record, or those records would only come back once a later one revealed the gap.
        held, self._held_partitions = self._held_partitions, set()
        try:
            self._fetch_again(self.order.next_offsets(), reason="the flow resumes")
            if held:
                super().resume_partitions(held & self.assignment())
        finally:
            super().resume_flow()

    def admit(self, message: Message) -> Admission:
        """Whether the agent given ``message`` processes it: only a partition's next record."""
        compacted = message.topic in self.compacted_topics
        admission = self.order.admit(message.tp, message.offset, message.generation_id, compacted=compacted)
        if admission is Admission.GAP:
            offset = self.order.refetch_due(message.tp)
            if offset is not None:
                self._fetch_again({message.tp: offset}, reason="a later record came first",
                                  offset_seen=message.offset)
        return admission

    def complete(self, message: Message) -> None:
        """The agent finished ``message`` (applied or dead-lettered): its offset may be committed."""
        self.order.complete(message.tp, message.offset)

    def fetch_stalled_again(self) -> None:
        """Fetch again the partitions that made no progress for a while though the broker has more."""
        if not self.order.is_open:
            return  # a rebalance is under way: the assignment may change under our feet
        try:
            highwaters = {tp: self.highwater(tp) for tp in self.assignment()
                          if self.app.topics.acks_enabled_for(tp.topic)}
        except (AssertionError, AttributeError, KafkaError):
            return  # the consumer thread swapped the assignment meanwhile: next second
        stalled = dict(self.order.stalled(highwaters))
        if stalled:
            self._fetch_again(stalled, reason="no progress while the broker holds more")

    def _fetch_again(self, positions: Mapping[TP, int], **why: Any) -> None:
        """Have the consumer thread seek ``positions`` (aiokafka's state lives on its loop)."""
        if not positions:
            return
        log.info("fetching partitions again from their next record",
                 partitions={f"{tp.topic}:{tp.partition}": offset for tp, offset in positions.items()}, **why)
        seeking = asyncio.ensure_future(self._seek_existing(dict(positions)))
        self._seeks.add(seeking)
        seeking.add_done_callback(self._seek_done)

    async def _seek_existing(self, positions: Mapping[TP, int]) -> None:
        """Seek ``positions``, or past them where the broker deleted records (retention)."""
        sought = await self._not_before_log_start(positions)
        for tp, offset in positions.items():
            if sought[tp] > offset and self.order.skip_deleted(tp, sought[tp]):
                log.error("records deleted by retention before they were processed", topic=tp.topic,
                          partition=tp.partition, first_lost=offset, first_kept=sought[tp])
        await self._thread.call_thread(self._seek_assigned, sought)

    async def _not_before_log_start(self, positions: Mapping[TP, int]) -> dict[TP, int]:
        """``positions``, each moved up to its partition's first record still on the broker."""
        earliest = await self.earliest_offsets(*positions) if positions else {}
        return {tp: max(offset, earliest.get(tp) or 0) for tp, offset in positions.items()}

    def _seek_assigned(self, positions: Mapping[TP, int]) -> None:
        # In the consumer thread, where a rebalance cannot interleave: a partition revoked
        # meanwhile is left alone (its next owner starts from the commit).
        consumer = self._thread._ensure_consumer()
        assigned = consumer.assignment()
        for tp, offset in positions.items():
            if tp in assigned:
                consumer.seek(tp, offset)

    def _seek_done(self, seeking: asyncio.Future[None]) -> None:
        self._seeks.discard(seeking)
        if not seeking.cancelled() and seeking.exception() is not None:
            log.warning("a partition could not be fetched again", error=repr(seeking.exception()))

    async def seek_to_committed(self) -> Mapping[TP, int]:
        self._sought = committed = await super().seek_to_committed()
        return committed

    async def perform_seek(self) -> None:
        """Seek to the committed offsets, and expect exactly those records next (partition_order.py)."""
        generation, closings = self.app.consumer_generation_id, self.order.closings
        await super().perform_seek()
        # A partition without a commit was rewound to its first record (RewindingConsumerThread).
        starts = await self._not_before_log_start(
            {tp: offset or 0 for tp, offset in self._sought.items() if self.app.topics.acks_enabled_for(tp.topic)}
        )
        if (self.app.consumer_generation_id, self.order.closings) == (generation, closings):
            self.order.start(generation, starts)  # else a rebalance began meanwhile and seeks again

    def stop_flow(self) -> None:
        """Stop the flow for a rebalance; no record is admitted until the next seek."""
        self.order.close()
        super().stop_flow()

    def _new_offset(self, tp: TP) -> int | None:
        # Where the agents finished in order, whatever Faust acked: its stream acks every record
        # it hands out, the skipped ones included. Its list is only the sign of new acks here.
        self._acked[tp].clear()
        self._acked_index[tp].clear()
        return self.order.committable(tp)


class ConsumerOrder:
    """The agents' view of the app's ProcessedOnlyConsumer, looked up per record: Faust creates
    the consumer lazily, after the agents are declared."""

    def __init__(self, app: Any) -> None:
        self._app = app

    def admit(self, message: Message) -> Admission:
        return self._app.consumer.admit(message)  # type: ignore[no-any-return]

    def complete(self, message: Message) -> None:
        self._app.consumer.complete(message)


def processed_only_consumer_class(
    fetch_max_wait_ms: int, compacted_topics: Iterable[str] = ()
) -> type[ProcessedOnlyConsumer]:
    """A ProcessedOnlyConsumer subclass whose fetches wait at most ``fetch_max_wait_ms``, reading
    ``compacted_topics`` (the transport instantiates it)."""
    attributes = {"fetch_max_wait_ms": fetch_max_wait_ms, "compacted_topics": frozenset(compacted_topics)}
    return type("ProcessedOnlyConsumer", (ProcessedOnlyConsumer,), attributes)
