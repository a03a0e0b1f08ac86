"""Events: the envelope every Kafka record carries, the topic catalog, topic provisioning."""
from parkos.events.envelope import (
    MalformedEvent,
    build_envelope,
    envelope_headers,
    parse_envelope,
    payload_type_name,
    unpack_payload,
)
from parkos.events.topics import ALL_TOPICS, TopicSpec

__all__ = [
    "ALL_TOPICS",
    "MalformedEvent",
    "TopicSpec",
    "build_envelope",
    "envelope_headers",
    "parse_envelope",
    "payload_type_name",
    "unpack_payload",
]
