"""D: how fast an `OutboxRelay` drains a backlog of committed, unsent rows.

The relay first runs on one event until it has stored its position, then stops: the
backlog is what piles up while a relay that has been running is down (a deploy, a broker
outage). It is C's committed rows topped up with bulk-inserted rows identical to
`append_to_outbox`'s (the filling is not timed). The drain is timed from `relay.start()`
until the relay has published every row and Kafka acknowledged it; marking the rows sent
is bookkeeping that follows (the relay does it once it has caught up), timed separately.
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
from parkos.outbox.position import RelayPosition
from parkos.outbox.writer import outbox_document


@dataclass
class DrainResult:
    """D."""

    backlog: int
    from_transactions: int
    fill_seconds: float
    drained: int
    seconds: float
    records_on_topic: int
    timed_out: bool
    mark_seconds: float  # from relay.start() until no row of the backlog is left unmarked
    left_unmarked: int
    stream_seconds: float  # a bare change stream reading the same backlog, nothing published

    @property
    def stream_throughput(self) -> float:
        """Rows per second the store's change stream delivers on its own: the ceiling of any
        relay that reads in commit order."""
        return rate(self.backlog, self.stream_seconds)

    @property
    def left_unpublished(self) -> int:
        """Rows of the backlog the relay had not had acknowledged when the drain stopped."""
        return max(0, self.backlog - self.drained)

    @property
    def throughput(self) -> float:
        """Rows published, acknowledged and marked sent per second."""
        return rate(self.drained, self.seconds)

    def share_of(self, acked_per_second: float, *, stream: bool = False) -> float:
        """The drain rate (or, with `stream`, the bare stream's) as a fraction of A's acknowledged
        rate (0 when A acknowledged nothing)."""
        throughput = self.stream_throughput if stream else self.throughput
        return throughput / acked_per_second if acked_per_second else 0.0


def drain_relay(infra: BenchInfra, db: AsyncDatabase, settings: Settings) -> OutboxRelay:
    """The relay D measures, on the database C writes to."""
    return OutboxRelay(db, lambda: open_idempotent_producer(infra.kafka_bootstrap, "bench-relay-drain"),
                       service="bench-outbox-drain", **relay_options(settings))


async def warm_relay(client: AsyncMongoClient, db: AsyncDatabase, relay: OutboxRelay, topic: str,
                     events: Events, timeout: float = 30.0) -> int:
    """Run the relay on one event until that row is marked sent and its position stored, then stop
    it (not measured); the records it published."""
    await relay.start()
    await outbox_transaction(client, db, topic, events)()
    relay.notify()
    deadline = time.monotonic() + timeout
    outbox = db[OUTBOX_COLLECTION]
    while time.monotonic() < deadline:
        if relay.published and not await outbox.count_documents({"sent": False}) \
                and await RelayPosition(db).load() is not None:
            break
        await asyncio.sleep(0.05)
    await relay.stop()
    return relay.published


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
    progress(f"D: a bare change stream reading the {backlog:,} rows (the store's ceiling)")
    stream_seconds = await replay_stream(db, backlog, settings.drain_timeout)
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
    progress("D: relay marking the published rows sent")
    left_unmarked = await wait_until_marked(db, relay, deadline)
    mark_seconds = time.monotonic() - started
    await relay.stop()
    on_topic = await end_offsets_total(infra.kafka_bootstrap, topic, settings.partitions) - warm_records
    return DrainResult(backlog, existing, fill_seconds, drained, seconds, on_topic, timed_out,
                       mark_seconds, left_unmarked, stream_seconds)


async def replay_stream(db: AsyncDatabase, backlog: int, timeout: float) -> float:
    """Seconds a bare change stream takes to deliver `backlog` inserted rows from the relay's stored
    position (read only: nothing is published or marked, so the relay then finds the same backlog)."""
    started = time.monotonic()
    seen = 0
    async with await db[OUTBOX_COLLECTION].watch(resume_after=await RelayPosition(db).load()) as stream:
        while seen < backlog and time.monotonic() - started < timeout:
            change = await stream.try_next()
            seen += change is not None and change["operationType"] == "insert"
    return time.monotonic() - started


async def wait_until_marked(db: AsyncDatabase, relay: OutboxRelay, deadline: float) -> int:
    """Wait (until `deadline`) for the running relay to mark every row sent; the rows left unmarked.

    It follows the relay's own count of rows awaiting their mark and counts the outbox only once
    that is 0: a count reads every unsent row on the Python server (~1.1 s of its time at 20,000),
    time taken from the marking and from the relay's lease renewals.
    """
    outbox = db[OUTBOX_COLLECTION]
    while time.monotonic() < deadline:
        if relay.session is not None and relay.session.unmarked:
            await asyncio.sleep(0.2)  # still marking: nothing to count yet
            continue
        if not await outbox.count_documents({"sent": False}):
            return 0
        await asyncio.sleep(2.0)  # rows left for a next session (a lost lease): count seldom
    return await outbox.count_documents({"sent": False})


def print_drain(drain: DrainResult, raw_acked_per_second: float, settings: Settings) -> None:
    """Table D, with the drain rate against A's acknowledged rate."""
    table = Table(f"D. Relay drain of a committed backlog (OutboxRelay, batch {relay_batch_size(settings)})",
                  ["measurement", "backlog", "drained", "seconds", "events/s", "vs A acked/s", "left",
                   "on topic"])
    table.add("publish + ack", fmt_count(drain.backlog), fmt_count(drain.drained),
              f"{drain.seconds:.2f}", fmt_rate(drain.throughput), f"{drain.share_of(raw_acked_per_second) * 100:.0f}%",
              fmt_count(drain.left_unpublished), fmt_count(drain.records_on_topic))
    table.add("change stream alone (ceiling)", fmt_count(drain.backlog), "", f"{drain.stream_seconds:.2f}",
              fmt_rate(drain.stream_throughput), f"{drain.share_of(raw_acked_per_second, stream=True) * 100:.0f}%",
              "", "")
    table.add("  then marked sent (bookkeeping)", fmt_count(drain.backlog), "", f"{drain.mark_seconds:.2f}",
              fmt_rate(rate(drain.backlog - drain.left_unmarked, drain.mark_seconds)), "",
              fmt_count(drain.left_unmarked), "")
    table.note(f"backlog: {drain.from_transactions:,} rows committed by C's transactions + "
               f"{drain.backlog - drain.from_transactions:,} identical rows bulk-inserted in "
               f"{drain.fill_seconds:.1f} s (not timed)")
    table.note("publish + ack: timed from relay.start() (lease, stored position, stream open included) "
               "until relay.published covers the backlog, i.e. every row acknowledged by Kafka; 'left' = "
               "not acknowledged")
    table.note(f"change stream alone: the same rows read by a bare change stream from the same stored "
               f"position, before the drain, nothing published; the relay drained at "
               f"{(drain.throughput / drain.stream_throughput if drain.stream_throughput else 0) * 100:.0f}% "
               "of it")
    table.note("marked sent: from the same start until no row is left with sent=False; the relay marks "
               "only once it has caught up, and a restart before the mark re-sends (never loses) a row")
    if drain.timed_out:
        table.note(f"TIMED OUT after {settings.drain_timeout:g} s: the rate is of the rows drained so far; "
                   "'on topic' also counts the batch in flight at the stop (published, not yet marked sent)")
    elif drain.records_on_topic != drain.backlog:
        table.note(f"records on topic ({drain.records_on_topic:,}) != backlog ({drain.backlog:,}): "
                   "rows re-sent (or lost) during the drain")
    table.print()
