"""E: commit->Kafka latency, with the relay running as in a service.

Paced (open-loop) writers commit outbox transactions and notify the relay after each
commit; a consumer on the topic notes when each event arrives. Latency = consumer receipt -
return of the committing transaction, both on this process's monotonic clock. First at C's
rate: what the writers achieve there with the relay publishing is the sustainable write rate
(C measured the writers alone, and on a fast store the writers and the relay share one
process's CPU); then at a fraction of that rate (`--latency-fraction`, 50%), the target's run.
With `--full-rate-seconds 0` the fraction is of C's rate.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from bench.common import (
    BenchInfra,
    LatencyHistogram,
    LoadResult,
    Table,
    TopicWatcher,
    fmt_count,
    fmt_ms,
    fmt_rate,
    progress,
    run_open_loop,
)
from bench.outbox.events import Events
from bench.outbox.settings import Settings, relay_options
from bench.outbox.transactions import outbox_transaction
from parkos.outbox import OutboxRelay, open_idempotent_producer


@dataclass
class LatencyRun:
    """E at one rate."""

    label: str
    target_rate: float
    load: LoadResult
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    committed: int = 0
    received: int = 0
    missing: int = 0
    before_commit_return: int = 0  # received before the writer's await returned: recorded as ~0


async def bench_commit_to_kafka(
    client: AsyncMongoClient, db: AsyncDatabase, relay: OutboxRelay, watcher: TopicWatcher, topic: str,
    events: Events, label: str, target_rate: float, seconds: float,
) -> LatencyRun:
    """Paced writers at `target_rate`; each commit's monotonic time is kept by event_id."""
    committed: dict[str, float] = {}

    def on_commit(event_id: str) -> None:
        committed[event_id] = time.monotonic()
        relay.notify()

    progress(f"E: {label}: {target_rate:,.0f} tx/s paced for {seconds:g} s, relay running")
    op = outbox_transaction(client, db, topic, events, on_commit)
    load = await run_open_loop(op, rate_per_second=target_rate, seconds=seconds, max_in_flight=64)
    await watcher.wait_for(list(committed), timeout=10.0)
    run = LatencyRun(label, target_rate, load, committed=len(committed))
    for event_id, committed_at in committed.items():
        received_at = watcher.received.get(event_id)
        if received_at is None:
            run.missing += 1
            continue
        run.received += 1
        if received_at < committed_at:
            run.before_commit_return += 1
        run.latency.record(max(0.0, received_at - committed_at))
    return run


async def bench_latency(
    infra: BenchInfra, client: AsyncMongoClient, db: AsyncDatabase, topic: str, settings: Settings,
    sustainable: float,
) -> list[LatencyRun]:
    """E: (unless 0 s) at C's rate with the relay running, which gives the sustainable rate, then at
    `--latency-fraction` of that; the fraction's run comes first in the list (the target's)."""
    latency_events = Events(settings.keys)
    watcher = TopicWatcher(infra.kafka_bootstrap, topic, settings.partitions)
    await watcher.start()
    latency_relay = OutboxRelay(
        db, lambda: open_idempotent_producer(infra.kafka_bootstrap, "bench-relay-latency"),
        service="bench-outbox-latency", **relay_options(settings))
    await latency_relay.start()
    runs: list[LatencyRun] = []
    try:
        # warm-up: the relay's producer and the watcher's fetch loop, not measured
        warm_ids: list[str] = []
        warm_op = outbox_transaction(client, db, topic, latency_events,
                                     lambda event_id: (warm_ids.append(event_id), latency_relay.notify()))
        for _ in range(5):
            await warm_op()
        await watcher.wait_for(warm_ids, timeout=15.0)
        full = None
        if settings.full_rate_seconds > 0:
            # The outbox's sustainable rate is what the writers commit while the relay publishes:
            # a rate the relay cannot follow only grows the backlog. C measured the writers
            # alone; at C's rate, with the relay (and this consumer) running, the rate they
            # achieve is the system's, and the latency target is judged at a fraction of it.
            full = await bench_commit_to_kafka(
                client, db, latency_relay, watcher, topic, latency_events,
                "C's rate, relay running", sustainable, settings.full_rate_seconds)
        system_rate = sustainable if full is None or full.missing else min(sustainable, full.load.throughput)
        runs.append(await bench_commit_to_kafka(
            client, db, latency_relay, watcher, topic, latency_events,
            f"{settings.latency_fraction:.0%} of sustainable", system_rate * settings.latency_fraction,
            settings.latency_seconds))
        if full is not None:
            runs.append(full)
    finally:
        await latency_relay.stop()
        await watcher.stop()
    return runs


def print_latency(runs: list[LatencyRun]) -> None:
    """Table E, with each run's transaction latency and a warning when the writers fell behind."""
    table = Table("E. Commit->Kafka latency (paced writers, relay notified after each commit, consumer on topic)",
                  ["offered rate", "tx/s offered", "tx/s done", "late starts", "events", "received", "missing",
                   "p50", "p99", "max"])
    for latency_run in runs:
        summary = latency_run.latency.summary()
        table.add(latency_run.label, fmt_rate(latency_run.target_rate), fmt_rate(latency_run.load.throughput),
                  fmt_count(latency_run.load.late_starts), fmt_count(latency_run.committed),
                  fmt_count(latency_run.received), fmt_count(latency_run.missing), fmt_ms(summary.p50_ms),
                  fmt_ms(summary.p99_ms), fmt_ms(summary.max_ms))
    table.note("latency = consumer receipt - return of the committing transaction, one process, monotonic clock")
    table.note("'late starts': writes that began > 10 ms behind their slot (driver or store saturated); "
               "writers capped at 64 in flight")
    for latency_run in runs:
        commit = latency_run.load.latency.summary()
        table.note(f"{latency_run.label}: transaction (slot->commit) p50 {fmt_ms(commit.p50_ms)}, "
                   f"p99 {fmt_ms(commit.p99_ms)}; errors {latency_run.load.errors}"
                   + (f"; {latency_run.before_commit_return} received before the commit returned, counted 0"
                      if latency_run.before_commit_return else ""))
        if latency_run.load.first_error:
            table.note(f"{latency_run.label}: first error: {latency_run.load.first_error}")
        behind = latency_run.load.late_starts > 0.05 * max(1, latency_run.committed)
        if behind or latency_run.load.throughput < 0.9 * latency_run.target_rate:
            table.note(f"{latency_run.label}: writers fell behind their schedule "
                       f"({fmt_rate(latency_run.load.throughput)} done of {fmt_rate(latency_run.target_rate)}, "
                       f"{latency_run.load.late_starts:,} late starts, worst "
                       f"{latency_run.load.max_start_lag * 1000:,.0f} ms): the store or this process did not keep up")
    table.print()
