"""D: how fast an `OutboxRelay` drains a backlog of committed, unsent rows.

The backlog is C's committed rows topped up with bulk-inserted rows identical to
`append_to_outbox`'s (the filling is not timed); the drain is timed from `relay.start()`
until the relay has published, had acknowledged and marked sent every row.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from bench.common import BenchInfra, Table, end_offsets_total, fmt_count, fmt_rate, progress, rate
from bench.outbox.events import Events
from bench.outbox.settings import Settings, relay_batch_size, relay_options
from bench.outbox.transactions import outbox_transaction
from parkos.outbox import OUTBOX_COLLECTION, OutboxRelay, open_idempotent_producer
from parkos.outbox.writer import outbox_document


@dataclass
class DrainResult:
    """D."""

    backlog: int
    from_transactions: int
    fill_seconds: float
    drained: int
    seconds: float
    left_unsent: int
    records_on_topic: int
    timed_out: bool

    @property
    def throughput(self) -> float:
        """Rows published, acknowledged and marked sent per second."""
        return rate(self.drained, self.seconds)

    def share_of(self, acked_per_second: float) -> float:
        """The drain rate as a fraction of A's acknowledged rate (0 when A acknowledged nothing)."""
        return self.throughput / acked_per_second if acked_per_second else 0.0


def drain_relay(infra: BenchInfra, db: AsyncDatabase, settings: Settings) -> OutboxRelay:
    """The relay D measures, on the database C writes to."""
    return OutboxRelay(db, lambda: open_idempotent_producer(infra.kafka_bootstrap, "bench-relay-drain"),
                       service="bench-outbox-drain", **relay_options(settings))


async def warm_relay(client: AsyncMongoClient, db: AsyncDatabase, relay: OutboxRelay, topic: str,
                     events: Events) -> int:
    """Warm the relay (producer start, metadata) on one event, not measured; the records it published."""
    await outbox_transaction(client, db, topic, events)()
    return await relay.drain_once()


async def fill_backlog(db: AsyncDatabase, topic: str, events: Events, wanted: int) -> tuple[int, int, float]:
    """Top the unsent rows up to `wanted` with rows identical to append_to_outbox's (bulk-inserted,
    majority-acknowledged). Returns (rows already there, rows inserted, seconds)."""
    outbox = db[OUTBOX_COLLECTION]
    existing = await outbox.count_documents({"sent": False})
    started = time.monotonic()
    missing = max(0, wanted - existing)
    for chunk_start in range(0, missing, 1000):
        chunk = []
        for _ in range(min(1000, missing - chunk_start)):
            chunk.append(outbox_document(topic, Events.envelope(*events.next())))
        await outbox.insert_many(chunk, ordered=False)
    return existing, missing, time.monotonic() - started


async def bench_relay_drain(
    infra: BenchInfra, db: AsyncDatabase, relay: OutboxRelay, topic: str, events: Events, settings: Settings,
    warm_records: int,
) -> DrainResult:
    """Fill the backlog, start the relay, wait until it has published every row."""
    progress(f"D: filling the outbox to {settings.backlog:,} unsent rows")
    existing, inserted, fill_seconds = await fill_backlog(db, topic, events, settings.backlog)
    backlog = existing + inserted
    progress(f"D: relay draining {backlog:,} rows")
    published_before = relay.published
    started = time.monotonic()
    await relay.start()
    deadline = started + settings.drain_timeout
    timed_out = False
    while relay.published - published_before < backlog:
        if time.monotonic() > deadline:
            timed_out = True
            break
        await asyncio.sleep(0.005)
    seconds = time.monotonic() - started
    drained = relay.published - published_before
    await relay.stop()
    left = await db[OUTBOX_COLLECTION].count_documents({"sent": False})
    on_topic = await end_offsets_total(infra.kafka_bootstrap, topic, settings.partitions) - warm_records
    return DrainResult(backlog, existing, fill_seconds, drained, seconds, left, on_topic, timed_out)


def print_drain(drain: DrainResult, raw_acked_per_second: float, settings: Settings) -> None:
    """Table D, with the drain rate against A's acknowledged rate."""
    table = Table(f"D. Relay drain of a committed backlog (OutboxRelay, batch {relay_batch_size(settings)})",
                  ["measurement", "backlog", "drained", "seconds", "events/s", "vs A acked/s", "left unsent",
                   "on topic"])
    table.add("publish + ack + mark sent", fmt_count(drain.backlog), fmt_count(drain.drained),
              f"{drain.seconds:.2f}", fmt_rate(drain.throughput), f"{drain.share_of(raw_acked_per_second) * 100:.0f}%",
              fmt_count(drain.left_unsent), fmt_count(drain.records_on_topic))
    table.note(f"backlog: {drain.from_transactions:,} rows committed by C's transactions + "
               f"{drain.backlog - drain.from_transactions:,} identical rows bulk-inserted in "
               f"{drain.fill_seconds:.1f} s (not timed)")
    table.note("timed from relay.start() (lease + first query included) until relay.published "
               "covers the backlog, i.e. every row acknowledged by Kafka and marked sent")
    if drain.timed_out:
        table.note(f"TIMED OUT after {settings.drain_timeout:g} s: the rate is of the rows drained so far; "
                   "'on topic' also counts the batch in flight at the stop (published, not yet marked sent)")
    elif drain.records_on_topic != drain.backlog:
        table.note(f"records on topic ({drain.records_on_topic:,}) != backlog ({drain.backlog:,}): "
                   "rows re-sent (or lost) during the drain")
    table.print()
