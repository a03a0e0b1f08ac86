"""The analytics worker's tables, partitioned like the repartition topic (by tenant id).

- ``tenant-ledgers``: tenant id -> ``TenantLedger``, every figure of the tenant with its guard
  (the highest repartition offset applied). Its changelog is what the API process follows.
- ``fact-offsets``: fact id -> the repartition offset where the fact was first seen. A copy
  of a fact at another offset (a producer's re-send, or the split re-run after a crash) is a
  duplicate; a copy at the same offset is the same record read again.

Both are updated only while processing the repartition partition their key lives in, so
Faust writes each key's changelog records to that partition and recovers them with it.
Values are protobuf / decimal digits (records.py), never pickle; state is in memory and
rebuilt from the changelogs at every start.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import faust
from faust.types import EventT

from services.analytics.records import LedgerCodec, OffsetCodec, Utf8Codec
from services.analytics.settings import AnalyticsSettings

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


@dataclass(frozen=True)
class Tables:
    ledgers: LedgerTable
    fact_offsets: CodecTable


def declare_tables(app: faust.App, settings: AnalyticsSettings) -> Tables:
    """Declare the tables on ``app``, with as many partitions as the repartition topic."""
    common = {"partitions": settings.facts_partitions, "key_codec": Utf8Codec(), "beacon": app.tables.beacon}
    ledgers = LedgerTable(app, name=LEDGERS, value_codec=LedgerCodec(), help="tenant id -> ledger", **common)
    offsets = CodecTable(app, name=FACT_OFFSETS, value_codec=OffsetCodec(), help="fact id -> first offset", **common)
    app.tables.add(ledgers)
    app.tables.add(offsets)
    return Tables(ledgers=ledgers, fact_offsets=offsets)
