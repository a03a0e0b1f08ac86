"""Transactional outbox: events are written with the state change, then relayed to Kafka."""
from parkos.outbox.producer import open_idempotent_producer
from parkos.outbox.relay import OutboxRelay
from parkos.outbox.writer import OUTBOX_COLLECTION, append_to_outbox, ensure_outbox_indexes, outbox_inserts

__all__ = ["OUTBOX_COLLECTION", "OutboxRelay", "append_to_outbox", "ensure_outbox_indexes", "open_idempotent_producer",
           "outbox_inserts"]
