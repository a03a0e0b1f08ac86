"""Helpers of the analytics integration tests: real worker processes, the real API, real Kafka.

Until the trades service publishes for real, the tests publish what it will publish: the
park.trades.v1 / park.tenants.v1 envelopes (parkos.events.build_envelope) through a raw
idempotent producer, keyed as the real producers key them. ``Ledger`` is the test's own
independent model of what the figures must be: sums over the *distinct* source events.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaProducer
from park.events.v1.envelope_pb2 import Envelope
from park.tenants.v1 import events_pb2 as tenant_events
from park.trades.v1 import events_pb2 as trade_events
from parkos.events import build_envelope, envelope_headers
from parkos.ids import new_id

from services.analytics.settings import AnalyticsSettings

SUB_PARKS = ["sp-energy", "sp-ai", "sp-hq"]
SECTORS = ["sec-digital-energy", "sec-ai-model-services", "sec-data-services"]


def worker_settings(infra, **overrides: object) -> AnalyticsSettings:  # type: ignore[no-untyped-def]
    """Settings on topics, a group and changelogs of this test only."""
    suffix = infra.unique_name("an")
    fields: dict[str, object] = {
        "kafka_bootstrap": infra.kafka_bootstrap,
        "trades_topic": f"test.trades.{suffix}",
        "tenants_topic": f"test.tenants.{suffix}",
        "analytics_topic": f"test.analytics.{suffix}",
        "dlq_topic": f"test.dlq.{suffix}",
        "facts_topic": f"test.facts.{suffix}",
        "facts_partitions": 6,
        "app_id": f"test-analytics-{suffix}",
        "session_timeout_seconds": 6.0,
        "heartbeat_interval_seconds": 1.0,
        "grpc_port": 0,
        "environment": "production",
    }
    fields.update(overrides)
    return AnalyticsSettings(**fields)  # type: ignore[arg-type]


def settings_env(settings: AnalyticsSettings) -> dict[str, str]:
    """The settings as the PARKOS_* environment of a worker process."""
    names = (
        "kafka_bootstrap", "trades_topic", "tenants_topic", "analytics_topic", "dlq_topic", "facts_topic",
        "facts_partitions", "app_id", "session_timeout_seconds", "heartbeat_interval_seconds", "environment",
        "commit_interval_seconds", "fact_ids_kept_seconds", "data_dir", "metrics_port",
    )
    return {f"PARKOS_{name.upper()}": str(getattr(settings, name)) for name in names}


class WorkerProcess:
    """``python -m services.analytics.worker`` in its own process, its log lines collected."""

    def __init__(self, settings: AnalyticsSettings, root: Path, name: str = "worker") -> None:
        self.settings, self.root, self.name = settings, root, name
        self.process: subprocess.Popen[str] | None = None
        self.lines: list[str] = []
        self._assigned = threading.Event()
        self.assignments: list[list[int]] = []

    def start(self) -> WorkerProcess:
        env = {**os.environ, "PYTHONPATH": str(self.root), **settings_env(self.settings)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.analytics.worker"], cwd=self.root, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        self._assigned.clear()
        threading.Thread(target=self._read, args=(self.process,), daemon=True).start()
        return self

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stderr is not None
        for line in process.stderr:
            self.lines.append(line)
            if "partitions assigned" in line:
                try:
                    self.assignments.append(json.loads(line).get("facts_partitions", []))
                except ValueError:
                    pass
                self._assigned.set()

    async def wait_assigned(self, timeout: float = 60.0) -> list[int]:
        """Until the worker's group has given it partitions; returns its repartition partitions."""
        ok = await asyncio.to_thread(self._assigned.wait, timeout)
        if not ok:
            raise AssertionError(f"{self.name} got no partitions in {timeout} s:\n{''.join(self.lines[-30:])}")
        return self.assignments[-1]

    def kill(self) -> None:
        """SIGKILL: no graceful stop, no final commit."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int | None:
        """SIGTERM and wait; SIGKILL if it does not stop in time."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=10)

    def log_tail(self, lines: int = 40) -> str:
        return "".join(self.lines[-lines:])


def _money(amount: int) -> dict[str, object]:
    return {"amount_minor": amount, "currency": "CNY"}


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    sub_park_id: str
    sector_id: str

    def placement(self) -> trade_events.TenantPlacement:
        return trade_events.TenantPlacement(
            tenant_id=self.tenant_id, sub_park_id=self.sub_park_id, sector_id=self.sector_id
        )


def make_tenants(count: int, rng: random.Random) -> list[Tenant]:
    return [Tenant(new_id("ten"), rng.choice(SUB_PARKS), rng.choice(SECTORS)) for _ in range(count)]


@dataclass
class Record:
    """One record to publish: topic, key, envelope (the same object for a re-send)."""

    topic: str
    key: str
    envelope: Envelope | None
    raw: bytes | None = None

    @property
    def value(self) -> bytes:
        return self.raw if self.envelope is None else self.envelope.SerializeToString()


@dataclass
class Expected:
    """The test's own model: per-tenant sums over the distinct source events."""

    net: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    fees: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    gross: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    spend: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    sold: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    bought: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    declared: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)

    def settle(self, envelope: Envelope, seller: Tenant, buyer: Tenant, gross: int, fee: int, sign: int) -> None:
        if envelope.event_id in self.seen:
            return
        self.seen.add(envelope.event_id)
        s = seller.tenant_id
        self.net[s] += sign * (gross - fee)
        self.fees[s] += sign * fee
        self.gross[s] += sign * gross
        self.sold[s] += sign
        self.spend[buyer.tenant_id] += sign * gross
        self.bought[buyer.tenant_id] += sign

    def declare(self, tenant: Tenant, period: str, version: int, amount: int) -> None:
        held = self.declared.get((tenant.tenant_id, period))
        if held is None or version > held[0]:
            self.declared[(tenant.tenant_id, period)] = (version, amount)

    def declared_total(self, tenant_id: str) -> int:
        return sum(amount for (tid, _), (_, amount) in self.declared.items() if tid == tenant_id)

    def tenant_figures(self, tenant_id: str) -> tuple[int, ...]:
        """(net, fees, gross, spend, sold, bought, declared) of one tenant."""
        return (self.net[tenant_id], self.fees[tenant_id], self.gross[tenant_id], self.spend[tenant_id],
                self.sold[tenant_id], self.bought[tenant_id], self.declared_total(tenant_id))


class Scenario:
    """Builds park events (with duplicates, refunds, corrections, garbage) and their expected sums."""

    def __init__(self, settings: AnalyticsSettings, tenants: list[Tenant], rng: random.Random) -> None:
        self.settings, self.tenants, self.rng = settings, tenants, rng
        self.expected = Expected()
        self.settled: list[tuple[Envelope, Tenant, Tenant, int, int]] = []
        self.sent: list[Record] = []
        self.now = datetime.now(UTC)

    def trade(self, seller: Tenant | None = None, buyer: Tenant | None = None, gross: int | None = None) -> Record:
        seller = seller or self.rng.choice(self.tenants)
        buyer = buyer or self.rng.choice([t for t in self.tenants if t != seller])
        gross = gross if gross is not None else self.rng.randint(100, 5_000_000)
        fee = (gross * 300 + 5000) // 10_000
        order_id = new_id("ord")
        message = trade_events.TradeSettled(
            settlement_id=new_id("set"), order_id=order_id, product_id=new_id("prd"), buyer=buyer.placement(),
            seller=seller.placement(), gross=_money(gross), fee=_money(fee), net=_money(gross - fee), fee_bps=300,
            classification_level=self.rng.randint(1, 4),
        )
        message.settled_at.FromDatetime(self.now)
        envelope = build_envelope(message, producer="trades", aggregate_id=order_id, tenant_id=seller.tenant_id,
                                  correlation_id=f"call-{order_id}")  # the PlaceOrder call's
        self.expected.settle(envelope, seller, buyer, gross, fee, +1)
        self.settled.append((envelope, seller, buyer, gross, fee))
        return Record(self.settings.trades_topic, order_id, envelope)

    def refund(self, of: Record | None = None) -> Record:
        """A refund of the settlement ``of`` (a trade of this scenario), or of a random one."""
        index = self.rng.randrange(len(self.settled)) if of is None else next(
            number for number, settled in enumerate(self.settled) if settled[0] is of.envelope)
        settled, seller, buyer, gross, fee = self.settled.pop(index)
        order_id = settled.aggregate_id
        message = trade_events.OrderRefunded(
            refund_id=new_id("ref"), order_id=order_id, buyer=buyer.placement(), seller=seller.placement(),
            gross=_money(gross), fee=_money(fee), net=_money(gross - fee), reason="test refund",
        )
        message.refunded_at.FromDatetime(self.now)
        envelope = build_envelope(message, producer="trades", aggregate_id=order_id, tenant_id=seller.tenant_id)
        self.expected.settle(envelope, seller, buyer, gross, fee, -1)
        return Record(self.settings.trades_topic, order_id, envelope)

    def revenue_report(self, tenant: Tenant | None = None, period: str | None = None, version: int | None = None,
                       amount: int | None = None) -> Record:
        tenant = tenant or self.rng.choice(self.tenants)
        period = period or f"2025-{self.rng.randint(1, 12):02d}"
        held = self.expected.declared.get((tenant.tenant_id, period))
        version = version or (held[0] + 1 if held else 1)
        amount = amount if amount is not None else self.rng.randint(0, 10**9)
        message = tenant_events.RevenueReported(
            report_id=new_id("rev"), tenant_id=tenant.tenant_id, period=period, revenue=_money(amount),
            version=version, replaces_version=version - 1, sub_park_id=tenant.sub_park_id, sector_id=tenant.sector_id,
        )
        message.reported_at.FromDatetime(self.now)
        self.expected.declare(tenant, period, version, amount)
        envelope = build_envelope(message, producer="tenants", aggregate_id=f"{tenant.tenant_id}/{period}",
                                  tenant_id=tenant.tenant_id)
        return Record(self.settings.tenants_topic, f"{tenant.tenant_id}/{period}", envelope)

    def resend(self) -> Record:
        """An outbox re-send: an earlier record, same bytes and event id, published again."""
        earlier = self.rng.choice([r for r in self.sent if r.envelope is not None])
        return Record(earlier.topic, earlier.key, earlier.envelope)

    def garbage(self) -> Record:
        return Record(self.settings.trades_topic, new_id("ord"), None, b"\x08\x96\x01 not an envelope")

    def mixed(self, count: int, *, refunds: float = 0.08, resends: float = 0.08, reports: float = 0.03,
              garbage: float = 0.002) -> Iterable[Record]:
        """``count`` records: mostly settlements, with refunds, re-sends, reports and garbage mixed in."""
        for _ in range(count):
            draw = self.rng.random()
            if draw < garbage:
                record = self.garbage()
            elif draw < garbage + refunds and self.settled:
                record = self.refund()
            elif draw < garbage + refunds + resends and self.sent:
                record = self.resend()
            elif draw < garbage + refunds + resends + reports:
                record = self.revenue_report()
            else:
                record = self.trade()
            self.sent.append(record)
            yield record


class Publisher:
    """A raw idempotent producer, as the services' outbox relays publish."""

    def __init__(self, bootstrap: str) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=2
        )

    async def __aenter__(self) -> Publisher:
        await self._producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._producer.stop()

    async def publish(self, records: Iterable[Record], *, rate: float | None = None,
                      on_sent: Callable[[int], object] | None = None) -> int:
        """Publish in order (optionally paced at ``rate`` per second); returns how many."""
        loop = asyncio.get_running_loop()
        start, count, pending = loop.time(), 0, []
        for record in records:
            headers = envelope_headers(record.envelope) if record.envelope is not None else None
            pending.append(await self._producer.send(record.topic, record.value, key=record.key.encode(),
                                                     headers=headers))
            count += 1
            if on_sent:
                on_sent(count)
            if rate:
                delay = start + count / rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
        await asyncio.gather(*pending)
        return count


async def wait_for(condition: Callable[[], bool], timeout: float, describe: Callable[[], str] = lambda: "") -> None:
    """Poll ``condition`` every 100 ms until true; AssertionError with ``describe()`` on timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met in {timeout} s: {describe()}")
        await asyncio.sleep(0.1)


def figures_of(ledger) -> tuple[int, ...]:  # type: ignore[no-untyped-def]
    """The same tuple as Expected.tenant_figures, from a ledger in the view."""
    b = ledger.all_time
    return (b.data_sales_net, b.park_fees, b.data_sales_gross, b.data_spend, b.trades_sold, b.trades_bought,
            ledger.declared_total)


def mismatches(view, expected: Expected, tenants: list[Tenant]) -> dict[str, tuple]:  # type: ignore[no-untyped-def]
    """Tenants whose view figures differ from the expected ones: tenant -> (view, expected)."""
    wrong = {}
    for tenant in tenants:
        ledger = view.ledger(tenant.tenant_id)
        got = figures_of(ledger) if ledger is not None else None
        want = expected.tenant_figures(tenant.tenant_id)
        if got != want and not (got is None and not any(want)):
            wrong[tenant.tenant_id] = (got, want)
    return wrong


def token_ttl() -> timedelta:
    return timedelta(hours=2)
