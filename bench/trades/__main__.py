"""`python -m bench.trades`: one run of the trades benchmark, 0, K, B, P, B1/P1 and Q, then the targets.

What each step measures is described in the package docstring (`bench/trades/__init__.py`)
and in its module; this file only names the run's topics and databases, sets up the
service and the park around it, runs the steps in order and cleans up.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench.common` and `services` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import grpc
from park.trades.v1 import trades_pb2_grpc
from parkos.auth import Role, TokenIssuer, generate_signing_key
from parkos.events.provisioning import ensure_topics
from parkos.events.topics import TRADES, TopicSpec
from parkos.grpc import open_channel
from parkos.mongo import connect_mongo
from parkos.runtime import tune_gc_after_startup

from bench.common import BenchInfra, delete_topics, drop_databases, progress, run_closed_loop, wait_for_leaders
from bench.trades.arrivals import Arrivals
from bench.trades.bare_transaction import bare_transaction
from bench.trades.orders import Orders, paced
from bench.trades.park_setup import approved_products, publish_tenants, wait_until_known
from bench.trades.raw_producer import raw_producer
from bench.trades.report import print_report
from bench.common.cpu_placement import alone_on_a_cpu, placed_processes
from bench.common.proc import CoresBusy
from bench.common.service_process import ServiceProcess
from bench.trades.service_process import trades_service
from bench.trades.settings import parse_args


async def run(args: argparse.Namespace) -> bool:
    infra = BenchInfra.from_env()
    infra.check_reachable()
    database, bare_database = infra.name("bench_trades"), infra.name("bench_trades_bare")
    topics = {part: infra.name("bench_trades", part) for part in ("tenants", "trades", "dlq", "raw")}
    workdir = Path(tempfile.mkdtemp(prefix="bench-trades-"))
    private_pem, public_pem = generate_signing_key()
    (workdir / "verify.pem").write_bytes(public_pem)
    issuer = TokenIssuer(private_pem)
    await ensure_topics(infra.kafka_bootstrap, [TopicSpec(topics["raw"], TRADES.partitions, dict(TRADES.config))])
    service = trades_service(infra, database, topics, workdir / "verify.pem", workdir / "trades.log")
    mongo = connect_mongo(infra.mongo_uri, "bench-trades")
    progress(f"starting the trades service on {service.target} (logs: {workdir / 'trades.log'})")
    placement = contextlib.ExitStack()
    arrivals = Arrivals(infra.kafka_bootstrap, topics["trades"])
    channels: list[grpc.aio.Channel] = []
    try:
        await service.start()
        args.placement_note = placement.enter_context(alone_on_a_cpu(args.pin, placed_processes({"service": service.pid})))
        await wait_for_leaders(infra.kafka_bootstrap,
                               {topics["trades"]: TRADES.partitions, topics["raw"]: TRADES.partitions})
        seller, buyers = await publish_tenants(infra.kafka_bootstrap, topics["tenants"], args.buyers, args.park_tenants)
        progress(f"waiting for the service to learn the park's {args.park_tenants:,} tenants from Kafka")
        await wait_until_known(mongo[database].directory, args.park_tenants)
        admin_token = issuer.issue(Role.ADMIN, "admin:bench", ttl=timedelta(hours=2)).token
        admin = trades_pb2_grpc.TradesServiceStub(_channel(channels, service.target, admin_token))
        products = await approved_products(admin, seller, args.products)
        # the buyers' tokens ride on a few shared channels, one per call
        tokens = [issuer.issue(Role.TENANT, b, tenant_id=b, ttl=timedelta(hours=2)).token for b in buyers]
        stubs = [trades_pb2_grpc.TradesServiceStub(_channel(channels, service.target, None))
                 for _ in range(args.channels)]
        orders = Orders(stubs=stubs, tokens=tokens, products=products)
        await arrivals.start()
        tune_gc_after_startup()  # as the service does: the client's full GC passes are not the service's latency
        return await _measure(args, infra, mongo, bare_database, topics, orders, arrivals, service)
    finally:
        placement.close()
        await arrivals.stop()
        for channel in channels:
            await channel.close()
        service.stop()
        if not args.keep:
            await drop_databases(mongo, [database, bare_database])
            await delete_topics(infra.kafka_bootstrap, list(topics.values()))
        await mongo.close()


def _channel(channels: list[grpc.aio.Channel], target: str, token: str | None) -> grpc.aio.Channel:
    channel = open_channel(target, token=token)
    channels.append(channel)
    return channel


async def _measure(args, infra, mongo, bare_database, topics, orders: Orders, arrivals: Arrivals,  # type: ignore[no-untyped-def]
                   service: ServiceProcess) -> bool:
    n = args.clients
    progress("warming up PlaceOrder")
    await run_closed_loop(orders.place, concurrency=n, seconds=1.0, warmup_seconds=0.0)
    progress(f"K raw producer: {n} senders, {args.seconds:g} s")
    raw = await raw_producer(infra.kafka_bootstrap, topics["raw"], senders=n, seconds=args.seconds)
    progress(f"B bare transaction with the order's writes: {n} writers, {args.seconds:g} s")
    bare = await bare_transaction(mongo, bare_database, writers=n, seconds=args.seconds)
    progress(f"P PlaceOrder: closed loop, {n} clients, {args.seconds:g} s")
    closed_starts: dict[str, float] = {}
    closed = await run_closed_loop(orders.recorded(closed_starts), concurrency=n, seconds=args.seconds)
    closed_kafka, closed_missing = await arrivals.latency(closed_starts)
    progress(f"B1, P1: one writer, one client, {args.seconds / 2:g} s each (the cost of one call)")
    single = {
        "B": await bare_transaction(mongo, bare_database, writers=1, seconds=args.seconds / 2),
        "P": await run_closed_loop(orders.place, concurrency=1, seconds=args.seconds / 2),
    }
    offered = max(closed.throughput * 0.5, 1.0)
    progress(f"Q PlaceOrder: paced at {offered:,.0f}/s for {args.paced_seconds:g} s")
    paced_starts: dict[str, float] = {}
    busy = CoresBusy(placed_processes({"service": service.pid}))
    busy.start()
    cpu_before, logged_from = service.cpu_seconds(), service.log_position()
    paced_run = await paced(orders, offered, args.paced_seconds, paced_starts)
    cpu_after = service.cpu_seconds()
    args.paced_cores = busy.stop()
    await asyncio.sleep(0.5)  # the last access-log lines
    args.paced_handled = service.handled_latency(logged_from, service.log_position(), "/PlaceOrder")
    paced_cpu = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
    paced_kafka, paced_missing = await arrivals.latency(paced_starts)
    return print_report(args, raw, bare, closed, closed_kafka, closed_missing, single, paced_run, paced_kafka,
                        paced_missing, paced_cpu)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    passed = asyncio.run(run(args))
    if args.fail_on_miss and not passed:
        sys.exit(1)


if __name__ == "__main__":
    main()
