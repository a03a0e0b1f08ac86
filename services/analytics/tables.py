"""The analytics worker's tables, partitioned like the repartition topic (by tenant id).

- ``tenant-ledgers``: tenant id -> ``TenantLedger``, every figure of the tenant with its guard
  (the highest repartition offset applied). Its changelog is what the API process follows.
- ``fact-offsets``: fact id -> the repartition offset where the fact was first seen. A copy
  of a fact at another offset (a producer's re-send, or the split re-run after a crash) is a
  duplicate; a copy at the same offset is the same record read again. Ids are forgotten
  (deleted, with a tombstone in the changelog) once older than ``PARKOS_FACT_IDS_KEPT_SECONDS``
  (fact_memory.py says why that is safe).

Both are updated only while processing the repartition partition their key lives in, so
Faust writes each key's changelog records to that partition and recovers them with it.
Values are protobuf / decimal digits (records.py), never pickle; state is in memory and
rebuilt from the changelogs at every start.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Set
from dataclasses import dataclass
from typing import Any

import faust
from faust.types import TP, EventT

from services.analytics.fact_memory import FirstSeenIndex
from services.analytics.records import LedgerCodec, OffsetCodec, Utf8Codec
from services.analytics.settings import AnalyticsSettings
from services.analytics.topics import facts_partition

LEDGERS = "tenant-ledgers"
FACT_OFFSETS = "fact-offsets"


class CodecTable(faust.Table):
    """A table whose keys and values go through the given codecs (faust picks JSON otherwise).

    ``put`` is how the agents write: it sets the key and hands its changelog record straight
    to the (durable) producer, to the partition being processed. ``table[key] = value`` would
    do the same through Faust's ``ProducerBuffer``, whose task hands records over one at a
    time and throttles the stream (``wait_until_ebb``) once 100 are waiting; the record is
    the same, and so is the commit barrier that waits for it.
    """

    def __init__(self, app: faust.App, *, key_codec: Any, value_codec: Any, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.key_serializer = key_codec
        self.value_serializer = value_codec
        self._key_codec, self._value_codec = key_codec, value_codec

    async def put(self, key: Any, value: Any, partition: int) -> None:
        """``self[key] = value``, its changelog record sent to ``partition`` before returning."""
        self.data[key] = value
        await self.app.producer.send(
            self.changelog_topic.get_topic_name(), self._key_codec.dumps(key), self._value_codec.dumps(value),
            partition, None, None,
        )


class LedgerTable(CodecTable):
    """Ledgers, recovered by the guard: of two records of a tenant, the higher guard wins.

    In the normal case the last record is the highest; the rule only matters if a worker
    that lost its partitions (a zombie) still had a ledger write in flight, which must not
    overwrite what the new owner wrote after it.
    """

    def apply_changelog_batch(self, batch: Iterable[EventT]) -> None:
        newest: dict[Any, Any] = {}
        kept = []
        for event in batch:
            key, value = self._to_key(event.key), event.value
            held = newest.get(key) or self.data.get(key)
            if value is not None and held is not None and value.applied_offset < held.applied_offset:
                continue
            newest[key] = value
            kept.append(event)
        super().apply_changelog_batch(kept)

    async def on_recovery_completed(self, active_tps: Set[TP], standby_tps: Set[TP]) -> None:
        await super().on_recovery_completed(active_tps, standby_tps)
        # As for fact ids: Faust drops the ledgers it recovered for partitions this worker lost,
        # not those the agent wrote. Left alone they would go out of date here while another
        # worker keeps the tenant (and the revaluation timer would read them).
        kept = {tp.partition for tp in active_tps}
        for tenant_id in [key for key in list(self.data.keys()) if facts_partition(key, self.partitions) not in kept]:
            self.data.pop(tenant_id, None)
            getattr(self.data, "_key_partition", {}).pop(tenant_id, None)


class FactOffsetTable(CodecTable):
    """Fact ids -> first offsets, forgetting ids older than ``kept_ms`` (fact_memory.py).

    When each id was first seen is known from the table's own writes and, after a restart or
    a rebalance, from the timestamps of the changelog records it is recovered from (the
    record of a write is stamped when it is sent). Forgetting happens while the agent
    processes the id's partition, as every other write to the table does.
    """

    # Ids forgotten per fact processed: bounds the pause, while an old backlog of ids (after
    # the horizon was shortened, say) is still forgotten many times faster than ids arrive.
    FORGET_PER_FACT = 64

    def __init__(self, app: faust.App, *, kept_ms: int, clock: Callable[[], float] = time.time,
                 **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.kept_ms = kept_ms
        self.first_seen = FirstSeenIndex()
        self._clock = clock

    async def put(self, key: Any, value: Any, partition: int) -> None:
        """Remember ``key`` as first seen at ``value`` (an offset), now."""
        await super().put(key, value, partition)
        self.first_seen.remember(partition, key, int(self._clock() * 1000))

    async def forget_expired(self, partition: int, split_at: float | None) -> int:
        """Delete the ids of ``partition`` first seen more than ``kept_ms`` before ``split_at`` (the
        timestamp, in seconds, of the fact being processed); returns how many.

        The fact's time, not the clock: a backlog read late forgets no id earlier than reading it
        on time would have. Capped at this worker's clock, so a splitting host whose clock runs
        ahead cannot make ids go early; a fact without a timestamp forgets nothing.
        """
        if not split_at or split_at <= 0:
            return 0
        now_ms = min(int(split_at * 1000), int(self._clock() * 1000))
        expired = self.first_seen.pop_expired(partition, now_ms - self.kept_ms, self.FORGET_PER_FACT)
        topic = self.changelog_topic.get_topic_name()
        for fact_id in expired:
            self._drop(fact_id)
            await self.app.producer.send(topic, self._key_codec.dumps(fact_id), None, partition, None, None)
        return len(expired)

    def _seen_at_ms(self, timestamp: float | None) -> int:
        # a record without a timestamp (-1, which Faust makes -0.001 s) counts as seen now
        return int(timestamp * 1000) if timestamp and timestamp > 0 else int(self._clock() * 1000)

    def _drop(self, fact_id: str) -> None:
        self.data.pop(fact_id, None)
        # the memory store also notes the partition of every key it recovered
        getattr(self.data, "_key_partition", {}).pop(fact_id, None)

    def apply_changelog_batch(self, batch: Iterable[EventT]) -> None:
        events = list(batch)
        last: dict[Any, Any] = {}
        for event in events:
            message = event.message
            key = self._to_key(event.key)
            last[key] = event.value
            if message.value is None:
                self.first_seen.forget(message.partition, key)
            else:
                self.first_seen.remember(message.partition, key, self._seen_at_ms(message.timestamp))
        super().apply_changelog_batch(events)
        # Faust's memory store deletes a key tombstoned in a batch unless its last value is
        # truthy: an id forgotten and then first seen again at offset 0 would be lost
        for key, value in last.items():
            if value is not None and key not in self.data:
                self.data[key] = value

    async def on_recovery_completed(self, active_tps: Set[TP], standby_tps: Set[TP]) -> None:
        await super().on_recovery_completed(active_tps, standby_tps)
        # Faust drops the keys it recovered for partitions this worker lost, not those the agent
        # wrote; a partition that comes back is recovered from its changelog's start again
        for fact_id in self.first_seen.keep_only({tp.partition for tp in active_tps}):
            self._drop(fact_id)


@dataclass(frozen=True)
class Tables:
    ledgers: LedgerTable
    fact_offsets: FactOffsetTable


def declare_tables(app: faust.App, settings: AnalyticsSettings) -> Tables:
    """Declare the tables on ``app``, with as many partitions as the repartition topic."""
    common = {"partitions": settings.facts_partitions, "key_codec": Utf8Codec(), "beacon": app.tables.beacon}
    ledgers = LedgerTable(app, name=LEDGERS, value_codec=LedgerCodec(), help="tenant id -> ledger", **common)
    offsets = FactOffsetTable(
        app, name=FACT_OFFSETS, value_codec=OffsetCodec(), help="fact id -> first offset",
        kept_ms=settings.fact_ids_kept_seconds * 1000, **common,
    )
    app.tables.add(ledgers)
    app.tables.add(offsets)
    return Tables(ledgers=ledgers, fact_offsets=offsets)
