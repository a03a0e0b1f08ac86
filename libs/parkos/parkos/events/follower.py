"""Following a topic from its first record into an in-memory projection (no group, no offsets).

For state every replica must hold itself — the revocation list of its token verifier, a
read-through cache — and that costs nothing to rebuild at start: each replica reads every
partition of the topic from the beginning and keeps reading. Nothing is written to a
database, so neither an inbox nor a consumer group is needed.

``caught_up`` is set once the follower has read every partition up to where it ended when
the follower first got its partitions: from then on the projection holds at least what was
published before the service started (a revocation list must not be trusted before).
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
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
        on_caught_up: Callable[[], None] = lambda: None,
    ) -> None:
        self._consumer_factory = consumer_factory
        self._apply_record = apply_record
        self._name = name
        self._retry_seconds = retry_seconds
        self._on_caught_up = on_caught_up
        self._task: asyncio.Task[None] | None = None
        self.applied = 0
        self.caught_up = asyncio.Event()

    async def ready(self) -> bool:
        """Readiness check: the topic was read up to where it ended at start."""
        return self.caught_up.is_set()

    async def wait_caught_up(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for ``caught_up``; returns whether it came."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self.caught_up.wait()
        if not self.caught_up.is_set():
            log.warning("topic follower not caught up yet", follower=self._name, waited_s=timeout)
        return self.caught_up.is_set()

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
        target: dict[TopicPartition, int] | None = None
        while True:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    self._apply(record.value)
            if self.caught_up.is_set():
                continue
            if target is None and consumer.assignment():
                target = await consumer.end_offsets(list(consumer.assignment()))
            if target is not None and await reached(consumer, target):
                self.caught_up.set()
                self._on_caught_up()
                log.info("topic follower caught up", follower=self._name, applied=self.applied)

    def _apply(self, raw: bytes | None) -> None:
        try:
            self._apply_record(raw)
        except MalformedEvent as error:
            # Not ours to dead-letter: the topic's inbox consumers do that. Skip it.
            log.warning("topic follower skipped a malformed record", follower=self._name, error=str(error))
            return
        except Exception as error:  # noqa: BLE001 - one odd record must not stop the projection for good
            # (re-reading from the beginning would meet it again, so skipping is the only way on)
            log.error("topic follower skipped a record it could not apply", follower=self._name,
                      error_type=type(error).__name__, error=str(error))
            return
        self.applied += 1


async def reached(consumer: AIOKafkaConsumer, target: dict[TopicPartition, int]) -> bool:
    """Whether ``consumer`` has read every partition of ``target`` up to its offset there."""
    for partition, end in target.items():
        if await consumer.position(partition) < end:
            return False
    return True
