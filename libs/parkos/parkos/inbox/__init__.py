"""Idempotent consumption: apply each event once, send what cannot be applied to the DLQ."""
from parkos.inbox.consumer import InboxConsumer
from parkos.inbox.dead_letters import DeadLetterPublisher
from parkos.inbox.dispatch import EventHandlers, PermanentEventError

__all__ = ["DeadLetterPublisher", "EventHandlers", "InboxConsumer", "PermanentEventError"]
