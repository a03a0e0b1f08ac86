"""What reached Kafka: counting the records on a topic, and noting when each event arrives.

Both read the topic from outside the code under test, with a plain consumer, so a figure
taken here is what a downstream service would see. They assume the fresh, per-run topics
the benchmarks create (offsets start at 0, only this run's records are on them).
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition


async def end_offsets_total(bootstrap: str, topic: str, partitions: int) -> int:
    """Records on `topic` (sum of the partitions' end offsets; the topics here are fresh)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, client_id="bench-offsets", enable_auto_commit=False)
    await consumer.start()
    try:
        offsets = await consumer.end_offsets([TopicPartition(topic, p) for p in range(partitions)])
        return sum(offsets.values())
    finally:
        await consumer.stop()


class TopicWatcher:
    """A consumer on every partition of the topic, noting when each event_id arrives.

    The id is read from the record's `event_id` header (Park OS's `envelope_headers`), so
    the payload is never parsed; `received` maps event_id -> `time.monotonic()` at the
    fetch that returned it, comparable with monotonic times taken in the same process.
    """

    def __init__(self, bootstrap: str, topic: str, partitions: int) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            client_id="bench-watcher",
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=100,
        )
        self._partitions = [TopicPartition(topic, p) for p in range(partitions)]
        self.received: dict[str, float] = {}
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        """Assign every partition from the start and begin fetching."""
        await self._consumer.start()
        self._consumer.assign(self._partitions)
        await self._consumer.seek_to_beginning(*self._partitions)
        self._task = asyncio.create_task(self._run(), name="bench-watcher")

    async def _run(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=200)
            now = time.monotonic()
            for records in batches.values():
                for record in records:
                    event_id = dict(record.headers).get("event_id")
                    if event_id is not None:
                        self.received[event_id.decode()] = now

    async def wait_for(self, event_ids: Iterable[str], timeout: float) -> None:
        """Until every id has arrived or `timeout` seconds pass."""
        deadline = time.monotonic() + timeout
        pending = [event_id for event_id in event_ids if event_id not in self.received]
        while pending and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            pending = [event_id for event_id in pending if event_id not in self.received]

    async def stop(self) -> None:
        """Stop fetching."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - stopping anyway
                pass
        await self._consumer.stop()
