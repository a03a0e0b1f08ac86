"""`python -m bench.outbox`: one run of the outbox benchmark, A to E, then the summary and targets.

What each step measures is described in the package docstring (`bench/outbox/__init__.py`)
and in its module; this file only names the run's topics and databases, prints the header,
runs the steps in order and cleans up.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench.common` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common import (
    BenchInfra,
    best_throughput,
    delete_topics,
    describe_machine,
    drop_databases,
    progress,
    wait_for_leaders,
)
from bench.outbox.drain import bench_relay_drain, drain_relay, print_drain, warm_relay
from bench.outbox.events import Events
from bench.outbox.latency import bench_latency, print_latency
from bench.outbox.raw_producer import bench_raw_producer, print_raw_producer
from bench.outbox.settings import Settings, parse_args, relay_batch_size
from bench.outbox.summary import print_summary, print_targets
from bench.outbox.transactions import bare_transaction, outbox_transaction, print_transactions, sweep_concurrency
from parkos.events import TopicSpec
from parkos.events.provisioning import ensure_topics
from parkos.mongo import connect_mongo
from parkos.outbox import ensure_outbox_indexes


def print_header(infra: BenchInfra, settings: Settings) -> None:
    """What ran where, and with which sizes."""
    print(f"Park OS outbox benchmark  run {infra.run_id}  {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
    print(f"kafka {infra.kafka_bootstrap}   mongo {infra.mongo_uri}")
    print(f"machine: {describe_machine(infra.mongo_uri)}")
    print(f"sizes: partitions={settings.partitions} keys={settings.keys} records={settings.records:,} "
          f"concurrency={','.join(map(str, settings.concurrency))} tx-seconds={settings.tx_seconds:g} "
          f"backlog={settings.backlog:,} latency-seconds={settings.latency_seconds:g} "
          f"full-rate-seconds={settings.full_rate_seconds:g} relay-batch-size={relay_batch_size(settings)}\n", flush=True)


async def run(settings: Settings, args: argparse.Namespace) -> int:
    infra = BenchInfra.from_env(kafka_bootstrap=args.kafka_bootstrap, mongo_uri=args.mongo_uri)
    infra.check_reachable()
    raw_topic = infra.name("bench_outbox", "raw")
    drain_topic = infra.name("bench_outbox", "drain")
    latency_topic = infra.name("bench_outbox", "latency")
    bare_db_name = infra.name("bench_outbox", "bare")
    drain_db_name = infra.name("bench_outbox", "drain")
    latency_db_name = infra.name("bench_outbox", "latency")

    print_header(infra, settings)

    await ensure_topics(infra.kafka_bootstrap, [
        TopicSpec(name, settings.partitions) for name in (raw_topic, drain_topic, latency_topic)
    ])
    await wait_for_leaders(infra.kafka_bootstrap, {
        name: settings.partitions for name in (raw_topic, drain_topic, latency_topic)
    })
    client = connect_mongo(infra.mongo_uri, "bench-outbox")
    bare_db, drain_db, latency_db = client[bare_db_name], client[drain_db_name], client[latency_db_name]
    began = time.monotonic()
    try:
        # ---- A
        progress(f"A: raw producer, {settings.records:,} records pipelined")
        raw = await bench_raw_producer(infra, raw_topic, settings)
        print_raw_producer(raw, raw_topic, settings)

        # ---- B
        for db in (bare_db, drain_db, latency_db):
            for name in ("accounts", "rows"):
                await db.create_collection(name)
            await ensure_outbox_indexes(db)
        sample = Events.envelope(0, "acc_000000")
        row_bytes = len(sample.SerializeToString())
        bare = await sweep_concurrency("B: bare transaction",
                                       bare_transaction(client, bare_db, Events(settings.keys), row_bytes), settings)

        # ---- C (its rows stay unsent: they are the start of D's backlog)
        drain_events = Events(settings.keys)
        relay = drain_relay(infra, drain_db, settings)
        warm = await warm_relay(client, drain_db, relay, drain_topic, drain_events)
        outbox = await sweep_concurrency("C: outbox write",
                                         outbox_transaction(client, drain_db, drain_topic, drain_events), settings)
        print_transactions(bare, outbox)

        # ---- D
        drain = await bench_relay_drain(infra, drain_db, relay, drain_topic, drain_events, settings, warm)
        print_drain(drain, raw.throughput, settings)

        # ---- E, paced against C's sustainable write rate
        sustainable = best_throughput(outbox)[1].throughput
        runs = await bench_latency(infra, client, latency_db, latency_topic, settings, sustainable)
        print_latency(runs)

        # ---- summary and targets
        print_summary(raw, bare, outbox, drain, runs, began)
        all_passed = print_targets(raw, drain, runs, settings)
        return 1 if settings.fail_on_miss and not all_passed else 0
    finally:
        if not settings.keep:
            progress("cleaning up the run's topics and databases")
            await drop_databases(client, [bare_db_name, drain_db_name, latency_db_name])
            await delete_topics(infra.kafka_bootstrap, [raw_topic, drain_topic, latency_topic])
        await client.close()


def main(argv: list[str] | None = None) -> int:
    settings, args = parse_args(argv)
    return asyncio.run(run(settings, args))


if __name__ == "__main__":
    sys.exit(main())
