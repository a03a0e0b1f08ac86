"""The worker's own account of where each stream partition stands: which record an agent may
process next, below which offset every record was processed in order, and where a partition
must be fetched again because records never reached its agent.

Why the worker keeps it instead of trusting Faust's (commit_barrier.py has the details):

- The ledger guard (domain.ledger.decide) treats a fact below the highest offset applied to
  its tenant as a replay. A fact processed after a later fact of its partition is therefore
  lost for good, commit or no commit: facts must be applied strictly in partition order.
- Around a rebalance Faust hands the agents records out of order or not at all: records
  fetched before the seek to the committed offsets, a stale batch's records after it, and
  records its buffers were emptied of; and its bookkeeping can commit past all of these.

So: after every seek (``start``) the next record of a partition must be exactly the one
sought. An earlier one (read again) or one fetched before the seek is skipped; a later one
(``GAP``) is skipped too, and the partition is fetched again from the record expected
(``refetch_due``, at most once a ``refetch_interval`` per partition). Every partition is also
fetched again from its next record when the flow resumes after a rebalance, since Faust
empties the agents' buffers then, and -- a last resort, for a lost record with nothing after
it to reveal the gap -- when it made no progress for ``stall_after`` seconds while the broker
holds more (``stalled``; under a backlog that costs a refetch, never a record). Commits
never pass ``committable``. Nothing here does I/O: commit_barrier.ProcessedOnlyConsumer feeds it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from enum import Enum


class Admission(Enum):
    """What an agent does with the record it was just given."""

    NEXT = "next"  # the record the partition is at: process it
    AGAIN = "again"  # processed since the last seek (read again): skip it
    UNSOUGHT = "unsought"  # fetched before this generation's seek: skip it, it is fetched again
    GAP = "gap"  # records before it never reached the agent: skip it, fetch them again


class PartitionOrder:
    """Per partition: the next offset to admit, the one being processed, and the first not done."""

    def __init__(
        self, *, refetch_interval: float = 1.0, stall_after: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._refetch_interval, self._stall_after, self._clock = refetch_interval, stall_after, clock
        self._generation: int | None = None
        self._next: dict[Hashable, int] = {}
        self._in_progress: dict[Hashable, int] = {}
        self._done: dict[Hashable, int] = {}
        self._progressed_at: dict[Hashable, float] = {}
        self._refetched_at: dict[Hashable, float] = {}
        self._holes_seen: dict[Hashable, tuple[int, int, float]] = {}
        self.closings = 0  # a seek that began before the last close must not reopen admission

    def start(self, generation: int, starts: Mapping[Hashable, int]) -> None:
        """The assigned partitions were just sought to ``starts`` in consumer ``generation``.

        A partition this worker kept since the previous seek starts no lower than where its
        records were done: those were processed here already (the tables hold them), and the
        fetcher may hand over the records after them before the ones it was sought to.
        """
        kept = {partition: max(offset, self._done.get(partition, offset)) for partition, offset in starts.items()}
        now = self._clock()
        self._generation = generation
        self._next = dict(kept)
        self._done = dict(kept)
        self._in_progress = {}
        self._progressed_at = dict.fromkeys(kept, now)
        self._refetched_at = {}
        self._holes_seen = {}

    @property
    def is_open(self) -> bool:
        """Whether records are admitted (a seek started the account and no rebalance closed it)."""
        return self._generation is not None

    def close(self) -> None:
        """The flow stopped for a rebalance: admit nothing until the next ``start``.

        A record already admitted still completes: it was processed, and the partition's
        owner in the next generation starts from the commit that includes it or before.
        """
        self._generation = None
        self.closings += 1

    def admit(self, partition: Hashable, offset: int, generation: int, *, compacted: bool = False) -> Admission:
        """Whether the record at ``offset``, fetched in ``generation``, is the partition's next.

        In a ``compacted`` topic the broker itself leaves holes where records were compacted
        away: a record further on is the next one there once a refetch from ``expected``
        brought it first again (until then it is a GAP like any other).
        """
        expected = self._next.get(partition)
        if generation != self._generation or expected is None:
            return Admission.UNSOUGHT
        abandoned = self._in_progress.pop(partition, None)
        if abandoned is not None:
            # The agent was given another record before finishing this one (it crashed and
            # Faust restarted it): the abandoned record is the partition's next again.
            self._next[partition] = expected = abandoned
        if offset < expected:
            return Admission.AGAIN
        if offset > expected and not (compacted and self._hole_confirmed(partition, expected, offset)):
            return Admission.GAP
        self._next[partition] = offset + 1
        self._in_progress[partition] = offset
        return Admission.NEXT

    def _hole_confirmed(self, partition: Hashable, expected: int, offset: int) -> bool:
        """In a compacted topic: the same record came first again after fetching from ``expected``
        once more, so nothing is left between them (a stale record would not come twice)."""
        seen = self._holes_seen.get(partition)
        if seen is not None and seen[:2] == (expected, offset):
            refetched_at = self._refetched_at.get(partition)
            confirmed = refetched_at is not None and refetched_at >= seen[2]
            if confirmed:  # the next hole, often in the same batch, may be asked about at once
                del self._refetched_at[partition]
            return confirmed
        if seen is None or seen[0] != expected or offset < seen[1]:
            self._holes_seen[partition] = (expected, offset, self._clock())  # the lowest seen counts
        return False

    def complete(self, partition: Hashable, offset: int) -> bool:
        """The agent finished the record at ``offset``; False if it was not the one admitted."""
        if self._in_progress.get(partition) != offset:
            return False
        del self._in_progress[partition]
        self._done[partition] = offset + 1
        self._progressed_at[partition] = self._clock()
        return True

    def refetch_due(self, partition: Hashable) -> int | None:
        """After a GAP: the offset to fetch the partition from again, unless that was asked lately."""
        expected = self._next.get(partition)
        now = self._clock()
        if expected is None or now - self._refetched_at.get(partition, -self._refetch_interval) < self._refetch_interval:
            return None
        self._refetched_at[partition] = now
        return expected

    def skip_deleted(self, partition: Hashable, first_offset: int) -> bool:
        """The broker deleted the records before ``first_offset`` (retention) though they were
        never processed: go on from there, since no refetch can bring them back. True if any
        were lost so."""
        expected = self._next.get(partition)
        if expected is None or expected >= first_offset or partition in self._in_progress:
            return False
        self._next[partition] = self._done[partition] = first_offset
        return True

    def stalled(self, highwaters: Mapping[Hashable, int | None]) -> Iterable[tuple[Hashable, int]]:
        """Partitions with records past ``committable`` and no progress for a while, and where
        to fetch them from again: their next record may have been lost on its way to the agent."""
        if self._generation is None:
            return
        now = self._clock()
        for partition, done in list(self._done.items()):
            highwater = highwaters.get(partition)
            idle = now - self._progressed_at.get(partition, now)
            if partition in self._in_progress or highwater is None or highwater <= done or idle < self._stall_after:
                continue
            self._progressed_at[partition] = self._refetched_at[partition] = now  # one per stall period
            yield partition, self._next[partition]

    def next_offsets(self) -> dict[Hashable, int]:
        """Each partition's next record, where to fetch from (empty while a rebalance closed admission)."""
        return dict(self._next) if self._generation is not None else {}

    def expected(self, partition: Hashable) -> int | None:
        """The offset the partition's next record must have (None: not sought yet)."""
        return self._next.get(partition)

    def committable(self, partition: Hashable) -> int | None:
        """Every record below this offset was processed in order since the seek (None: unknown)."""
        return self._done.get(partition)
