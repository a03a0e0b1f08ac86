"""Following a topic from its first record into an in-memory projection (no group, no offsets).

For state every replica must hold itself — the revocation list of its token verifier, a
read-through cache — and that costs nothing to rebuild at start: each replica reads every
partition of the topic from the beginning and keeps reading. Nothing is written to a
database, so neither an inbox nor a consumer group is needed.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from parkos.events.envelope import MalformedEvent
from parkos.logging import get_logger

log = get_logger(__name__)

RecordApplier = Callable[[bytes | None], object]


def open_follower_consumer(bootstrap: str, topic: str, *, client_id: str) -> AIOKafkaConsumer:
    """A group-less consumer of every partition of ``topic`` from its first record."""
    return AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        client_id=client_id,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )


class TopicFollower:
    """Reads a topic for as long as the service runs and applies every record value."""

    def __init__(
        self, consumer_factory: Callable[[], AIOKafkaConsumer], apply_record: RecordApplier, *,
        name: str = "topic-follower", retry_seconds: float = 1.0,
    ) -> None:
        self._consumer_factory = consumer_factory
        self._apply_record = apply_record
        self._name = name
        self._retry_seconds = retry_seconds
        self._task: asyncio.Task[None] | None = None
        self.applied = 0

    async def start(self) -> None:
        """Start following in the background."""
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        """Stop following; the next start reads the topic from the beginning again."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            consumer = self._consumer_factory()
            try:
                await consumer.start()
                await self._follow(consumer)
            except KafkaError as error:
                log.warning("topic follower retrying", follower=self._name, error=str(error))
                await asyncio.sleep(self._retry_seconds)
            finally:
                with contextlib.suppress(Exception):
                    await consumer.stop()

    async def _follow(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    self._apply(record.value)

    def _apply(self, raw: bytes | None) -> None:
        try:
            self._apply_record(raw)
        except MalformedEvent as error:
            # Not ours to dead-letter: the topic's inbox consumers do that. Skip it.
            log.warning("topic follower skipped a malformed record", follower=self._name, error=str(error))
            return
        self.applied += 1
