"""The one Kafka consumer configuration Park OS consumes with."""
from __future__ import annotations

from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer


def open_manual_commit_consumer(
    bootstrap: str, group_id: str, topics: Sequence[str], *, client_id: str
) -> AIOKafkaConsumer:
    """A consumer that commits only what the inbox has applied.

    aiokafka auto-commits by default, which can move the offset past an event that
    is still being applied; here the offset moves only after the inbox transaction
    commits. A new group starts from the earliest record so nothing published
    before the service's first start is missed.
    """
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=group_id,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_poll_records=500,
    )
