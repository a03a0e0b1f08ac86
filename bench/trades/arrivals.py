"""When each order's TradeSettled reaches a consumer of the trades topic, for the RPC -> Kafka latency."""
from __future__ import annotations

import asyncio
import contextlib
import time

from aiokafka import AIOKafkaConsumer, TopicPartition
from park.trades.v1 import events_pb2
from parkos.events.topics import TRADES

from bench.common import LatencyHistogram


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
