"""What the benchmark times: a bare consumer, the API's pushes and reads, DataAssetValued.

Every latency runs from the publish call of a TradeSettled to the moment this process
sees its effect, on one monotonic clock.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from park.analytics.v1 import analytics_pb2, analytics_pb2_grpc
from park.analytics.v1 import events_pb2 as analytics_events
from parkos.events import parse_envelope, unpack_payload

from bench.common import LatencyHistogram
from services.analytics.settings import AnalyticsSettings


@dataclass
class Trade:
    """One precomputed TradeSettled, and when it was published."""

    order_id: str
    event_id: str
    seller: int
    value: bytes
    headers: list[tuple[str, bytes]]
    published: float = 0.0
    probe_seq: int = 0  # 1-based number of this sale among the probe seller's sales (0: not a probe)


@dataclass
class Timings:
    """Latencies of one step, and what is still awaited."""

    bare: LatencyHistogram = field(default_factory=LatencyHistogram)
    pushed: LatencyHistogram = field(default_factory=LatencyHistogram)
    readable: LatencyHistogram = field(default_factory=LatencyHistogram)
    valued: LatencyHistogram = field(default_factory=LatencyHistogram)
    probe_events: int = 0
    late_starts: int = 0
    max_slip_ms: float = 0.0
    published: int = 0
    seconds: float = 0.0
    held: bool = False


class Observer:
    """Everything the bench watches: the bare consumer, the API's pushes, DataAssetValued."""

    def __init__(self, bootstrap: str, settings: AnalyticsSettings, api: analytics_pb2_grpc.AnalyticsServiceStub,
                 probes: list[str]) -> None:
        self.bootstrap, self.settings, self.api, self.probes = bootstrap, settings, api, probes
        self.by_order: dict[str, Trade] = {}
        self.by_event: dict[str, Trade] = {}
        self.probe_sales: dict[str, deque[Trade]] = defaultdict(deque)  # seller -> unobserved probe sales, in order
        self.timings = Timings()
        self._tasks: list[asyncio.Task[None]] = []

    def expect(self, trade: Trade, seller_id: str) -> None:
        """Watch for ``trade``, about to be published, sold by ``seller_id``."""
        self.by_order[trade.order_id] = trade
        self.by_event[trade.event_id] = trade
        if trade.probe_seq:
            self.probe_sales[seller_id].append(trade)
            self.timings.probe_events += 1

    def outstanding_probes(self) -> int:
        """Probe sales published and not yet pushed by the API."""
        return sum(len(queue) for queue in self.probe_sales.values())

    async def start(self) -> None:
        """Start watching; returns once the consumers sit at the topics' ends."""
        self._tasks = [
            asyncio.create_task(self._consume(self.settings.trades_topic, self._on_trade)),
            asyncio.create_task(self._consume(self.settings.analytics_topic, self._on_valuation)),
            asyncio.create_task(self._stream()),
        ]
        await asyncio.sleep(2)  # consumers positioned at the end, the stream's snapshot read

    async def stop(self) -> None:
        """Stop watching."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def drain(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for every probe sale to be pushed; True if all were."""
        deadline = time.monotonic() + seconds
        while self.outstanding_probes() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # the last confirmations and valuations
        return self.outstanding_probes() == 0

    async def _consume(self, topic: str, handle) -> None:  # type: ignore[no-untyped-def]
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False,
                                    fetch_max_wait_ms=500, client_id=f"bench-bare-{topic}")
        await consumer.start()
        try:
            partitions = [TopicPartition(topic, p) for p in sorted(await _partitions(consumer, topic))]
            consumer.assign(partitions)
            await consumer.seek_to_end(*partitions)
            while True:
                for records in (await consumer.getmany(timeout_ms=1000)).values():
                    now = time.monotonic()
                    for record in records:
                        handle(record, now)
        finally:
            await consumer.stop()

    def _on_trade(self, record, now: float) -> None:  # type: ignore[no-untyped-def]
        trade = self.by_order.get(record.key.decode())
        if trade is not None:
            self.timings.bare.record(now - trade.published)

    def _on_valuation(self, record, now: float) -> None:  # type: ignore[no-untyped-def]
        event = unpack_payload(parse_envelope(record.value), analytics_events.DataAssetValued)
        trade = self.by_event.get(event.source_event_id)
        if trade is not None:
            self.timings.valued.record(now - trade.published)

    async def _stream(self) -> None:
        request = analytics_pb2.StreamParkMetricsRequest(tenant_ids=self.probes)
        async for update in self.api.StreamParkMetrics(request):
            now = time.monotonic()
            queue = self.probe_sales.get(update.tenant.tenant_id)
            seen = update.tenant.all_time.trades_sold
            newly: list[Trade] = []
            while queue and queue[0].probe_seq <= seen:
                newly.append(queue.popleft())
            for trade in newly:
                self.timings.pushed.record(now - trade.published)
            if newly:
                asyncio.ensure_future(self._confirm(update.tenant.tenant_id, seen, newly))

    async def _confirm(self, tenant_id: str, seen: int, trades: list[Trade]) -> None:
        """GetParkRevenue must return a figure that includes the events: time when it does."""
        request = analytics_pb2.GetParkRevenueRequest(dimension=analytics_pb2.DIMENSION_TENANT, key=tenant_id)
        for _ in range(50):
            response = await self.api.GetParkRevenue(request, timeout=5)
            if response.figures.trades_sold >= seen:
                now = time.monotonic()
                for trade in trades:
                    self.timings.readable.record(now - trade.published)
                return
            await asyncio.sleep(0.001)


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    for _ in range(100):
        found = consumer.partitions_for_topic(topic)
        if found:
            return found
        await consumer.topics()
        await consumer._client.force_metadata_update()  # noqa: SLF001 - the public API has no refresh
        await asyncio.sleep(0.1)
    raise SystemExit(f"no metadata for {topic}")
