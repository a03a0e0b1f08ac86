"""Publishing records that cannot be applied to park.dlq.v1, with the error."""
from __future__ import annotations

from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord
from park.events.v1.dead_letter_pb2 import DeadLetter

from parkos.events.topics import DLQ
from parkos.logging import get_logger

log = get_logger(__name__)


def dead_letter_for(record: ConsumerRecord, group_id: str, error: BaseException, event_id: str = "") -> DeadLetter:
    """The DLQ message for a record: the original bytes, where they came from, and why they failed."""
    letter = DeadLetter(
        source_topic=record.topic,
        source_partition=record.partition,
        source_offset=record.offset,
        key=record.key or b"",
        value=record.value or b"",
        consumer_group=group_id,
        error_type=type(error).__name__,
        error_message=str(error)[:2000],
        event_id=event_id,
    )
    letter.failed_at.FromDatetime(datetime.now(UTC))
    return letter


class DeadLetterPublisher:
    """Sends dead letters and waits for the broker's acknowledgement before the offset moves on."""

    def __init__(self, producer: AIOKafkaProducer, topic: str = DLQ.name) -> None:
        self._producer = producer
        self._topic = topic

    async def publish(self, record: ConsumerRecord, group_id: str, error: BaseException, event_id: str = "") -> None:
        """Publish one dead letter; returns once it is acknowledged."""
        letter = dead_letter_for(record, group_id, error, event_id)
        await self._producer.send_and_wait(self._topic, letter.SerializeToString(), key=record.key)
        log.warning(
            "record dead-lettered",
            source_topic=record.topic, partition=record.partition, offset=record.offset,
            event_id=event_id or None, error_type=letter.error_type, error=letter.error_message,
        )
