"""The inbox consumer: each event's effects and its event_id are committed in one transaction."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import ConsumerRecord
from park.events.v1.envelope_pb2 import Envelope
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from prometheus_client import Counter, Gauge

from parkos.events.envelope import MalformedEvent, parse_envelope
from parkos.inbox.dead_letters import DeadLetterPublisher
from parkos.inbox.dispatch import EventHandlers
from parkos.inbox.errors import is_transient
from parkos.logging import get_logger
from parkos.mongo import run_in_transaction

log = get_logger(__name__)

INBOX_COLLECTION = "inbox"

_APPLIED = Counter("parkos_inbox_events_total", "Events seen by inbox consumers", ["group", "outcome"])
_LAG = Gauge("parkos_consumer_lag", "Records behind the partition's end", ["group", "topic", "partition"])


class InboxConsumer:
    """Consumes topics for one consumer group and applies every event at most once.

    Offsets are committed only after the records before them are applied or
    dead-lettered, so a crash re-delivers and the inbox turns the re-delivery
    into a no-op. A record that cannot be parsed or applied goes to the DLQ and
    the partition moves on; a database or broker outage is waited out instead.
    """

    def __init__(
        self,
        *,
        client: AsyncMongoClient,
        db: AsyncDatabase,
        consumer_factory: Callable[[], AIOKafkaConsumer],
        handlers: EventHandlers,
        dead_letters: DeadLetterPublisher,
        group_id: str,
        retry_seconds: float = 0.5,
        commit_every_seconds: float = 1.0,
    ) -> None:
        self._client = client
        self._inbox = db[INBOX_COLLECTION]
        self._consumer_factory = consumer_factory
        self._handlers = handlers
        self._dead_letters = dead_letters
        self._group_id = group_id
        self._retry_seconds = retry_seconds
        self._commit_every_seconds = commit_every_seconds
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task | None = None
        # next offset to commit per partition: only records applied or dead-lettered count
        self._applied_up_to: dict[TopicPartition, int] = {}
        self.applied = 0

    async def start(self) -> None:
        """Join the group and consume in the background."""
        self._consumer = self._consumer_factory()
        await self._consumer.start()
        self._task = asyncio.create_task(self._run(), name=f"inbox-{self._group_id}")

    async def stop(self) -> None:
        """Commit what was applied, leave the group; the rest is re-delivered to the next owner."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer:
            with contextlib.suppress(KafkaError):
                await self._commit_applied()
            await self._consumer.stop()

    async def _run(self) -> None:
        assert self._consumer is not None
        while True:
            try:
                batches = await self._consumer.getmany(timeout_ms=500)
            except KafkaError as error:
                log.warning("consumer fetch failed, retrying", error=str(error))
                await asyncio.sleep(self._retry_seconds)
                continue
            loop = asyncio.get_running_loop()
            committed_at = loop.time()
            for partition, records in batches.items():
                for record in records:
                    await self._process(record)
                    self._applied_up_to[partition] = record.offset + 1
                    # a batch can take seconds on a slow store: commit as we go, so a restart
                    # re-reads seconds of events, not the whole batch
                    if loop.time() - committed_at >= self._commit_every_seconds:
                        await self._commit_applied()
                        committed_at = loop.time()
            await self._commit_applied()

    async def _process(self, record: ConsumerRecord) -> None:
        try:
            envelope = parse_envelope(record.value)
        except MalformedEvent as error:
            await self._dead_letter(record, error)
            return
        if not self._handlers.handles(envelope):
            _APPLIED.labels(self._group_id, "skipped").inc()
            return
        with structlog.contextvars.bound_contextvars(
            event_id=envelope.event_id, correlation_id=envelope.correlation_id or None,
            tenant_id=envelope.tenant_id or None,
        ):
            await self._apply_with_retries(record, envelope)

    async def _apply_with_retries(self, record: ConsumerRecord, envelope: Envelope) -> None:
        while True:
            try:
                applied = await run_in_transaction(self._client, lambda session: self._apply(envelope, record, session))
                _APPLIED.labels(self._group_id, "applied" if applied else "duplicate").inc()
                self.applied += int(applied)
                return
            except Exception as error:  # the verdict is is_transient's, not the exception class's
                if not is_transient(error):
                    await self._dead_letter(record, error, envelope.event_id)
                    return
                log.warning("apply failed, retrying", error=str(error), error_type=type(error).__name__)
                await asyncio.sleep(self._retry_seconds)

    async def _apply(self, envelope: Envelope, record: ConsumerRecord, session: AsyncClientSession) -> bool:
        """In one transaction: skip a seen event_id, else apply it and record it."""
        if await self._inbox.find_one({"_id": envelope.event_id}, projection={"_id": 1}, session=session):
            return False
        await self._handlers.dispatch(envelope, session)
        await self._inbox.insert_one(
            {
                "_id": envelope.event_id,
                "type": envelope.type,
                "source": f"{record.topic}/{record.partition}/{record.offset}",
                "group": self._group_id,
                "applied_at": datetime.now(UTC),
            },
            session=session,
        )
        return True

    async def _dead_letter(self, record: ConsumerRecord, error: BaseException, event_id: str = "") -> None:
        while True:
            try:
                await self._dead_letters.publish(record, self._group_id, error, event_id)
                _APPLIED.labels(self._group_id, "dead_lettered").inc()
                return
            except KafkaError as publish_error:
                # the offset must not pass a record that is neither applied nor in the DLQ
                log.warning("DLQ publish failed, retrying", error=str(publish_error))
                await asyncio.sleep(self._retry_seconds)

    async def _commit_applied(self) -> None:
        assert self._consumer is not None
        offsets, self._applied_up_to = self._applied_up_to, {}
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as error:
            # lost a partition in a rebalance: its new owner re-reads, the inbox de-duplicates
            log.warning("offset commit failed", error=str(error))
            return
        for partition, next_offset in offsets.items():
            highwater = self._consumer.highwater(partition)
            if highwater is not None:
                _LAG.labels(self._group_id, partition.topic, partition.partition).set(max(highwater - next_offset, 0))
