"""When each remembered fact id was first seen, per repartition partition, so old ones can be forgotten.

The ``fact-offsets`` table remembers every fact id to recognise a copy of its fact. Copies
come from an outbox re-sending rows it had not yet marked sent (seconds after the original,
or after a store outage) and from the split agent reading a source record again: after a
crash (since the last commit), or from the log start when the group's committed offsets are
gone (the broker expires them after a week without the group, or an operator resets them).
The last can bring back any trade the trades topic still holds, so an id must be remembered
longer than a trades record can be read (``topics.trades_record_lifetime_ms``: 30 days of
retention and a 7-day segment roll); ``PARKOS_FACT_IDS_KEPT_SECONDS`` is 40 days. Remembering
ids forever would grow the worker's memory and its restart (the table is rebuilt from its
changelog) with every trade the park ever made.

Pure bookkeeping, no I/O: the table (tables.py) feeds it from its own writes and from the
changelog it recovers, and turns what it returns into tombstones.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection


class FirstSeenIndex:
    """Fact ids by partition, oldest first, with the time (ms) each was first seen.

    Entries are kept in the order they were remembered, which is the order of their times
    up to clock differences between workers; ``pop_expired`` stops at the first entry still
    inside the horizon, so such a difference in the order only delays forgetting. (The
    horizon itself is measured on two clocks, the fact's producer's and the worker's; the
    days of margin in its default cover any skew between hosts.)
    """

    def __init__(self) -> None:
        self._partitions: dict[int, OrderedDict[str, int]] = {}

    def remember(self, partition: int, fact_id: str, seen_at_ms: int) -> None:
        """Note that ``fact_id`` was (first) seen in ``partition`` at ``seen_at_ms``."""
        entries = self._partitions.setdefault(partition, OrderedDict())
        entries.pop(fact_id, None)
        entries[fact_id] = seen_at_ms

    def forget(self, partition: int, fact_id: str) -> None:
        """Drop ``fact_id`` (its table entry was deleted)."""
        entries = self._partitions.get(partition)
        if entries is not None:
            entries.pop(fact_id, None)

    def keep_only(self, partitions: Collection[int]) -> list[str]:
        """Drop every partition not in ``partitions`` (no longer this worker's); returns their ids."""
        dropped: list[str] = []
        for partition in [p for p in self._partitions if p not in partitions]:
            dropped.extend(self._partitions.pop(partition))
        return dropped

    def pop_expired(self, partition: int, before_ms: int, limit: int) -> list[str]:
        """Remove and return up to ``limit`` of the oldest ids of ``partition`` seen before ``before_ms``."""
        entries = self._partitions.get(partition)
        expired: list[str] = []
        while entries and len(expired) < limit:
            fact_id, seen_at_ms = next(iter(entries.items()))
            if seen_at_ms >= before_ms:
                break
            del entries[fact_id]
            expired.append(fact_id)
        return expired

    def count(self, partition: int | None = None) -> int:
        """Ids remembered in ``partition`` (None: in all)."""
        if partition is not None:
            return len(self._partitions.get(partition, ()))
        # list(): /metrics reads this from its own thread while the agents add partitions
        return sum(len(entries) for entries in list(self._partitions.values()))
