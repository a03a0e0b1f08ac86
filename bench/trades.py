"""Trades service benchmark: PlaceOrder over real gRPC, and RPC -> TradeSettled on Kafka, with baselines.

In one run, against the running local infrastructure (`make infra-up`):

  0  the trades service is started as it runs in production (`python -m
     services.trades.main`, JSON logs at INFO with an access-log line per call), in its
     own process, on a fresh database and topics; tenants and sub-park fee rates reach it
     as park.tenants.v1 events (as the tenants service publishes them); a few products
     are listed and approved.
  K  raw Kafka producer: Park OS's idempotent acks=all producer, records of a
     TradeSettled's size pipelined by N senders; only acknowledged records count.
  B  bare Mongo transaction with an order's writes (order, settlement, license and two
     outbox rows, the same documents into collections with the service's indexes) through
     `run_in_transaction`, from this process: closed loop, N writers. PlaceOrder also makes two reads in its transaction.
  P  PlaceOrder (tenant tokens, a new idempotency key per call): closed loop, N clients;
     latency of the RPC, and of RPC start -> its TradeSettled read from Kafka by a
     consumer in this process.
  B1, P1  the same one at a time: the floor of a call's latency on this machine.
  Q  PlaceOrder paced (open loop) at half the rate P sustained; latency from each call's
     scheduled start (no coordinated omission), RPC and RPC -> Kafka.

Targets (issue 4): P >= 50% of B; at half the sustainable rate, RPC p99 <= 40 ms and
RPC -> Kafka p99 <= 100 ms.

usage (from the repository root):
  .venv/bin/python -m bench.trades            # default run, about 2 minutes
  .venv/bin/python -m bench.trades --quick    # smoke run, about 45 s
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench.common` and `services` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import grpc
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from grpc_health.v1 import health_pb2, health_pb2_grpc
from park.events.v1.envelope_pb2 import Envelope
from park.tenants.v1 import events_pb2 as tenant_events
from park.tenants.v1 import tenants_pb2
from park.trades.v1 import events_pb2, trades_pb2, trades_pb2_grpc
from parkos.auth import Role, TokenIssuer, generate_signing_key
from parkos.events import build_envelope, envelope_headers
from parkos.events.provisioning import ensure_topics
from parkos.events.topics import TRADES, TopicSpec
from parkos.grpc import open_channel
from parkos.ids import new_id
from parkos.mongo import connect_mongo, run_in_transaction
from parkos.money import Money
from parkos.outbox import open_idempotent_producer
from parkos.outbox.writer import OUTBOX_COLLECTION, outbox_document

from bench.common import (
    BenchInfra,
    LatencyHistogram,
    LoadResult,
    Table,
    Targets,
    delete_topics,
    describe_machine,
    drop_databases,
    fmt_ms,
    fmt_rate,
    progress,
    run_closed_loop,
    run_open_loop,
    wait_for_leaders,
)
from services.trades import documents
from services.trades.domain import Delivery, LicenseTerms, PermittedUse, Product, ProductDraft, ProductStatus
from services.trades.mapping import event_envelope
from services.trades.settlement import Order, OrderIds, OrderPlaced, TradeSettled
from services.trades.store import TradesStore
from services.trades.tenant_directory import FeeRate, KnownTenant, TenantStatus

ROOT = Path(__file__).resolve().parents[1]
SERVICE = "park.trades.v1.TradesService"
BARE_RATIO_TARGET = 0.50
RPC_P99_TARGET_MS = 40.0
KAFKA_P99_TARGET_MS = 100.0
FEE_BPS = 250


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.trades", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run: short windows")
    parser.add_argument("--clients", type=int, default=16, help="concurrency N of the closed loops (K, B, P)")
    parser.add_argument("--seconds", type=float, default=None, help="measured seconds per closed loop [8; quick 3]")
    parser.add_argument("--paced-seconds", type=float, default=None, help="seconds of the paced run Q [12; quick 4]")
    parser.add_argument("--buyers", type=int, default=20, help="buying tenants")
    parser.add_argument("--products", type=int, default=5, help="approved products to order")
    parser.add_argument("--channels", type=int, default=2, help="gRPC channels the clients share")
    parser.add_argument("--keep", action="store_true", help="keep the run's database and topics")
    parser.add_argument("--fail-on-miss", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    args.seconds = args.seconds or (3.0 if args.quick else 8.0)
    args.paced_seconds = args.paced_seconds or (4.0 if args.quick else 12.0)
    return args


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --------------------------------------------------------------------------- the service


class ServiceProcess:
    """The trades service in its own process, configured as in production."""

    def __init__(self, infra: BenchInfra, database: str, topics: dict[str, str], key_file: Path, log: Path) -> None:
        self.target = f"127.0.0.1:{_free_port()}"
        self._env = {
            **os.environ, "PARKOS_GRPC_PORT": self.target.rsplit(":", 1)[1], "PARKOS_MONGO_DATABASE": database,
            "PARKOS_MONGO_URI": infra.mongo_uri, "PARKOS_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
            "PARKOS_TOKEN_PUBLIC_KEY_FILE": str(key_file), "PARKOS_ENVIRONMENT": "production",
            "PARKOS_LOG_LEVEL": "INFO", "PARKOS_TENANTS_TOPIC": topics["tenants"],
            "PARKOS_TRADES_TOPIC": topics["trades"], "PARKOS_DLQ_TOPIC": topics["dlq"],
            "PARKOS_DIRECTORY_GROUP": f"bench-trades-directory-{infra.run_id}",
            "PARKOS_PAGE_TOKEN_SECRET": "bench-trades-page-token-secret",
        }
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        with self._log.open("wb") as log:
            self._process = subprocess.Popen([sys.executable, "-m", "services.trades.main"], cwd=ROOT,
                                             env=self._env, stdout=log, stderr=subprocess.STDOUT)
        async with grpc.aio.insecure_channel(self.target) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    raise SystemExit(f"the trades service exited; see {self._log}")
                with contextlib.suppress(grpc.aio.AioRpcError):
                    reply = await stub.Check(health_pb2.HealthCheckRequest(service=SERVICE), timeout=1)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                await asyncio.sleep(0.2)
        raise SystemExit(f"the trades service never became SERVING; see {self._log}")

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()


async def publish_tenants(bootstrap: str, topic: str, buyers: int) -> tuple[str, list[str]]:
    """The tenants service's part: a fee rate, one seller and ``buyers`` buyers, all active."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        async def publish(payload, key: str) -> None:  # type: ignore[no-untyped-def]
            envelope = build_envelope(payload, producer="tenants", aggregate_id=key, tenant_id=key)
            await producer.send_and_wait(topic, envelope.SerializeToString(), key=key.encode(),
                                         headers=envelope_headers(envelope))

        for sub_park in ("sp-energy", "sp-ai"):
            await publish(tenant_events.SubParkDefined(
                sub_park=tenants_pb2.SubPark(sub_park_id=sub_park, name=sub_park, trade_fee_bps=FEE_BPS)), sub_park)
        ids = [new_id("ten") for _ in range(buyers + 1)]
        for number, tenant_id in enumerate(ids):
            tenant = tenants_pb2.Tenant(tenant_id=tenant_id, legal_name=f"Bench Enterprise {number}",
                                        sub_park_id="sp-energy" if number == 0 else "sp-ai",
                                        sector_id="sec-data-services", status=tenants_pb2.TENANT_STATUS_ACTIVE,
                                        version=2)
            await publish(tenant_events.TenantStatusChanged(tenant=tenant, to_status=tenant.status), tenant_id)
        return ids[0], ids[1:]
    finally:
        await producer.stop()


# --------------------------------------------------------------------------- Kafka arrivals


class Arrivals:
    """A consumer of the trades topic noting when each order's TradeSettled arrives (monotonic clock)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                          isolation_level="read_committed")
        self._topic = topic
        self.at: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        partitions = [TopicPartition(self._topic, p) for p in sorted(self._consumer.partitions_for_topic(self._topic) or
                                                                     range(TRADES.partitions))]
        self._consumer.assign(partitions)
        await self._consumer.seek_to_end(*partitions)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        settled = events_pb2.TradeSettled.DESCRIPTOR.full_name
        while True:
            batches = await self._consumer.getmany(timeout_ms=100)
            now = time.monotonic()
            for records in batches.values():
                for record in records:
                    if dict(record.headers or ()).get("type", b"").decode() == settled:
                        self.at.setdefault(record.key.decode(), now)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    async def latency(self, starts: dict[str, float], grace: float = 10.0) -> tuple[LatencyHistogram, int]:
        """RPC start -> arrival for each order; waits up to ``grace`` s for stragglers; returns (histogram, missing)."""
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(order_id not in self.at for order_id in starts):
            await asyncio.sleep(0.1)
        histogram = LatencyHistogram()
        missing = 0
        for order_id, started in starts.items():
            if order_id in self.at:
                histogram.record(self.at[order_id] - started)
            else:
                missing += 1
        return histogram, missing


# --------------------------------------------------------------------------- K: raw producer


async def raw_producer(bootstrap: str, topic: str, *, senders: int, seconds: float) -> LoadResult:
    """N senders each awaiting their own record's acknowledgement, back to back (closed loop)."""
    producer = open_idempotent_producer(bootstrap, client_id="bench-trades-raw")
    await producer.start()
    value = _sample_settled_envelope().SerializeToString()
    keys = itertools.count()
    try:
        async def send() -> None:
            await producer.send_and_wait(topic, value, key=f"ord_{next(keys):08d}".encode())

        return await run_closed_loop(send, concurrency=senders, seconds=seconds)
    finally:
        await producer.stop()


def _sample_settled_envelope() -> Envelope:
    return event_envelope(TradeSettled(_sample_order("ord_sample", "stl_sample", "lic_sample")), correlation_id=None)


# --------------------------------------------------------------------------- B: bare transaction


def _sample_order(order_id: str, settlement_id: str, license_id: str) -> Order:
    """A settled order built by the domain, as PlaceOrder builds it (the same documents follow)."""
    now = datetime.now(UTC)
    seller = KnownTenant("ten_seller", TenantStatus.ACTIVE, "sp-energy", "sec-data-services", 2)
    buyer = KnownTenant("ten_buyer", TenantStatus.ACTIVE, "sp-ai", "sec-data-services", 2)
    draft = ProductDraft(title="Bench dataset", description="", sector_id="", delivery=Delivery.DATASET,
                         price=Money(12_000_00, "CNY"), license=LicenseTerms(365, (PermittedUse.RESEARCH,)),
                         classification_level=2, contains_personal_information=False, quality_statement="")
    listed, _ = Product.list_new(draft, product_id="prd_bench", seller=seller, currency="CNY", now=now)
    order, _ = Order.place(order_id=order_id, idempotency_key=f"key-{order_id}",
                           product=replace(listed, status=ProductStatus.APPROVED), buyer=buyer, seller=seller,
                           fee_rate=FeeRate("sp-energy", FEE_BPS), ids=OrderIds(settlement_id, license_id), now=now)
    return order


async def bare_transaction(mongo, database: str, *, writers: int, seconds: float) -> LoadResult:  # type: ignore[no-untyped-def]
    """The order's writes (order, settlement, license, 2 outbox rows) in one transaction, N writers.

    The collections carry the service's indexes, so B pays what PlaceOrder's writes pay.
    """
    db = mongo[database]
    # the same collections with the same indexes as the service's (created outside any transaction)
    await TradesStore(mongo, database).ensure_indexes()

    async def write() -> None:
        order = _sample_order(new_id("ord"), new_id("stl"), new_id("lic"))

        async def work(session) -> None:  # type: ignore[no-untyped-def]
            await db.orders.insert_one(documents.order_document(order), session=session)
            await db.settlements.insert_one(documents.settlement_document(order), session=session)
            await db.licenses.insert_one(documents.license_document(order), session=session)
            rows = [outbox_document("bench", event_envelope(e, correlation_id=None))
                    for e in (OrderPlaced(order), TradeSettled(order))]
            await db[OUTBOX_COLLECTION].insert_many(rows, session=session, ordered=True)

        await run_in_transaction(mongo, work)

    return await run_closed_loop(write, concurrency=writers, seconds=seconds)


# --------------------------------------------------------------------------- P, Q: PlaceOrder


@dataclass
class Orders:
    """PlaceOrder calls by the buyers (each with its own token), and when each order's call started."""

    stubs: list[trades_pb2_grpc.TradesServiceStub]
    tokens: list[str]
    products: list[str]
    rng: random.Random = field(default_factory=lambda: random.Random(11))
    turn: itertools.count = field(default_factory=itertools.count)

    async def place(self) -> str:
        """One PlaceOrder by a random buyer of a random product, with a new key; returns the order id."""
        request = trades_pb2.PlaceOrderRequest(idempotency_key=new_id("bkey"), product_id=self.rng.choice(self.products))
        stub = self.stubs[next(self.turn) % len(self.stubs)]
        metadata = (("authorization", f"Bearer {self.rng.choice(self.tokens)}"),)
        return (await stub.PlaceOrder(request, timeout=10, metadata=metadata)).order_id

    def recorded(self, starts: dict[str, float]) -> Callable[[], Awaitable[None]]:
        """An operation for the closed loop that notes each order's start in ``starts``."""
        async def op() -> None:
            started = time.monotonic()
            starts[await self.place()] = started
        return op


def _row(table: Table, name: str, result: LoadResult, note: str = "") -> None:
    summary = result.latency.summary()
    table.add(name, fmt_rate(result.throughput), fmt_ms(summary.p50_ms), fmt_ms(summary.p99_ms),
              f"{result.errors:,}", note)


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
    service = ServiceProcess(infra, database, topics, workdir / "verify.pem", workdir / "trades.log")
    mongo = connect_mongo(infra.mongo_uri, "bench-trades")
    progress(f"starting the trades service on {service.target} (logs: {workdir / 'trades.log'})")
    await service.start()
    await wait_for_leaders(infra.kafka_bootstrap, {topics["trades"]: TRADES.partitions, topics["raw"]: TRADES.partitions})
    arrivals = Arrivals(infra.kafka_bootstrap, topics["trades"])
    channels: list[grpc.aio.Channel] = []
    try:
        seller, buyers = await publish_tenants(infra.kafka_bootstrap, topics["tenants"], args.buyers)
        progress(f"waiting for the service to learn {args.buyers + 1} tenants from Kafka")
        deadline = time.monotonic() + 60
        directory = mongo[database].directory
        while await directory.count_documents({"kind": "tenant"}) < args.buyers + 1 or \
                await directory.count_documents({"kind": "fee_rate"}) < 2:
            if time.monotonic() > deadline:
                raise SystemExit("the trades service never learned the tenants")
            await asyncio.sleep(0.2)
        admin_token = issuer.issue(Role.ADMIN, "admin:bench", ttl=timedelta(hours=2)).token
        admin = trades_pb2_grpc.TradesServiceStub(_channel(channels, service.target, admin_token))
        products = []
        for number in range(args.products):
            listed = await admin.ListProduct(trades_pb2.ListProductRequest(
                seller_tenant_id=seller, title=f"Bench dataset {number}", delivery=events_pb2.DELIVERY_DATASET,
                price={"amount_minor": 1_000_00 + number, "currency": "CNY"}, classification_level=2,
                license={"duration_days": 365, "permitted_uses": [trades_pb2.PERMITTED_USE_RESEARCH]}))
            products.append((await admin.ReviewProduct(trades_pb2.ReviewProductRequest(
                product_id=listed.product_id, decision=trades_pb2.REVIEW_DECISION_APPROVE))).product_id)
        # the buyers' tokens ride on a few shared channels, one per call
        tokens = [issuer.issue(Role.TENANT, b, tenant_id=b, ttl=timedelta(hours=2)).token for b in buyers]
        stubs = [trades_pb2_grpc.TradesServiceStub(_channel(channels, service.target, None))
                 for _ in range(args.channels)]
        orders = Orders(stubs=stubs, tokens=tokens, products=products)
        await arrivals.start()
        return await _measure(args, infra, mongo, bare_database, topics, orders, arrivals)
    finally:
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


async def _measure(args, infra, mongo, bare_database, topics, orders: Orders, arrivals: Arrivals) -> bool:  # type: ignore[no-untyped-def]
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
    paced = await _paced(orders, offered, args.paced_seconds, paced_starts)
    paced_kafka, paced_missing = await arrivals.latency(paced_starts)
    return _report(args, raw, bare, closed, closed_kafka, closed_missing, single, paced, paced_kafka, paced_missing)


async def _paced(orders: Orders, offered: float, seconds: float, starts: dict[str, float]) -> LoadResult:
    """Open loop; the RPC -> Kafka latency counts from each call's scheduled slot, like the RPC's."""
    interval = 1.0 / offered
    begin = time.monotonic()
    slots = itertools.count()

    async def place() -> None:
        slot = begin + next(slots) * interval  # run_open_loop starts calls in slot order
        starts[await orders.place()] = slot

    return await run_open_loop(place, rate_per_second=offered, seconds=seconds)


def _report(args, raw, bare, closed, closed_kafka, closed_missing, single, paced, paced_kafka, paced_missing) -> bool:  # type: ignore[no-untyped-def]
    print(f"\nTrades service benchmark — {describe_machine()}\n")
    table = Table(f"Closed loop, concurrency {args.clients}, {args.seconds:g} s each",
                  ["what", "throughput", "p50", "p99", "errors", "note"])
    _row(table, "K raw Kafka producer (acks=all)", raw, "baseline: a TradeSettled-sized record, acknowledged")
    _row(table, "B bare Mongo transaction", bare, "baseline: the order's 5 writes, no reads, no gRPC")
    ratio = closed.throughput / bare.throughput if bare.throughput else 0.0
    _row(table, "P PlaceOrder (RPC)", closed, f"{ratio:.0%} of B")
    summary = closed_kafka.summary()
    table.add("P PlaceOrder -> TradeSettled on Kafka", "", fmt_ms(summary.p50_ms), fmt_ms(summary.p99_ms),
              f"{closed_missing:,} missing", "RPC start -> consumer receipt")
    table.note("PlaceOrder: 2 reads (product; both tenants and the fee rates) + the 5 writes in one transaction")
    table.note("every call runs the production interceptors: correlation, JSON access log, errors, token check")
    table.print()
    table = Table("One at a time (the floor of each call's latency on this machine)",
                  ["what", "throughput", "p50", "p99", "errors", "note"])
    _row(table, "B1 bare Mongo transaction, 1 writer", single["B"])
    _row(table, "P1 PlaceOrder, 1 client", single["P"])
    table.print()
    table = Table(f"Paced at half the sustainable rate, {args.paced_seconds:g} s",
                  ["what", "offered", "p50", "p99", "errors", "late starts"])
    rpc, kafka = paced.latency.summary(), paced_kafka.summary()
    table.add("Q PlaceOrder (RPC)", fmt_rate(paced.offered_rate), fmt_ms(rpc.p50_ms), fmt_ms(rpc.p99_ms),
              f"{paced.errors:,}", f"{paced.late_starts:,}")
    table.add("Q PlaceOrder -> TradeSettled on Kafka", "", fmt_ms(kafka.p50_ms), fmt_ms(kafka.p99_ms),
              f"{paced_missing:,} missing", "")
    table.note("latency counts from each call's scheduled start (no coordinated omission)")
    table.print()
    targets = Targets()
    targets.check("PlaceOrder rate vs bare transaction", f">= {BARE_RATIO_TARGET:.0%}", f"{ratio:.0%}",
                  ratio >= BARE_RATIO_TARGET if bare.throughput and closed.completed else None)
    targets.check("PlaceOrder RPC p99 at half rate", f"<= {RPC_P99_TARGET_MS:g} ms", fmt_ms(rpc.p99_ms),
                  rpc.p99_ms <= RPC_P99_TARGET_MS if paced.completed else None)
    targets.check("RPC -> Kafka p99 at half rate", f"<= {KAFKA_P99_TARGET_MS:g} ms", fmt_ms(kafka.p99_ms),
                  kafka.p99_ms <= KAFKA_P99_TARGET_MS if paced_kafka.count and not paced_missing else None)
    targets.print()
    return targets.all_passed


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    passed = asyncio.run(run(args))
    if args.fail_on_miss and not passed:
        sys.exit(1)


if __name__ == "__main__":
    main()
