"""Build and parse park.events.v1.Envelope, the value of every Kafka record in Park OS."""
from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.any_pb2 import Any as AnyMessage
from google.protobuf.message import DecodeError, Message
from park.events.v1.envelope_pb2 import Envelope

from parkos.ids import new_event_id

_TYPE_URL_PREFIX = "type.googleapis.com/"


class MalformedEvent(ValueError):
    """A record that is not a valid Envelope, or whose payload is not what it claims."""


def payload_type_name(message_class: type[Message]) -> str:
    """The full proto name that identifies a payload type, e.g. park.tenants.v1.TenantRegistered."""
    return message_class.DESCRIPTOR.full_name


def build_envelope(
    payload: Message,
    *,
    producer: str,
    aggregate_id: str,
    tenant_id: str = "",
    correlation_id: str | None = None,
    schema_version: int = 1,
    event_id: str | None = None,
    occurred_at: datetime | None = None,
) -> Envelope:
    """Wrap a payload message in an envelope with a fresh UUIDv7 event id."""
    if not aggregate_id:
        raise ValueError("an event needs the id of its aggregate (the record key)")
    envelope = Envelope(
        event_id=event_id or new_event_id(),
        type=payload.DESCRIPTOR.full_name,
        producer=producer,
        tenant_id=tenant_id,
        correlation_id=correlation_id or "",
        schema_version=schema_version,
        aggregate_id=aggregate_id,
    )
    envelope.occurred_at.FromDatetime(occurred_at or datetime.now(UTC))
    envelope.payload.Pack(payload)
    return envelope


def parse_envelope(raw: bytes | None) -> Envelope:
    """Decode a record value; raise MalformedEvent for anything that is not a usable envelope."""
    if not raw:
        raise MalformedEvent("empty record value")
    envelope = Envelope()
    try:
        envelope.ParseFromString(raw)
    except DecodeError as error:
        raise MalformedEvent(f"not an Envelope: {error}") from error
    if not envelope.event_id or not envelope.type or not envelope.aggregate_id:
        raise MalformedEvent("envelope lacks event_id, type or aggregate_id")
    if envelope.payload.type_url != _TYPE_URL_PREFIX + envelope.type:
        raise MalformedEvent(f"payload {envelope.payload.type_url!r} does not match type {envelope.type!r}")
    return envelope


def unpack_payload(envelope: Envelope, message_class: type[Message]) -> Message:
    """The envelope's payload as `message_class`; MalformedEvent if it is another type or corrupt."""
    payload = message_class()
    any_payload: AnyMessage = envelope.payload
    try:
        unpacked = any_payload.Unpack(payload)
    except DecodeError as error:
        raise MalformedEvent(f"payload of {envelope.event_id} is corrupt: {error}") from error
    if not unpacked:
        raise MalformedEvent(f"payload is {envelope.type}, not {payload_type_name(message_class)}")
    return payload


def envelope_headers(envelope: Envelope) -> list[tuple[str, bytes]]:
    """Kafka headers that let logs and tools follow an event without decoding it."""
    headers = [
        ("event_id", envelope.event_id.encode()),
        ("type", envelope.type.encode()),
        ("producer", envelope.producer.encode()),
    ]
    if envelope.correlation_id:
        headers.append(("correlation_id", envelope.correlation_id.encode()))
    if envelope.tenant_id:
        headers.append(("tenant_id", envelope.tenant_id.encode()))
    return headers
