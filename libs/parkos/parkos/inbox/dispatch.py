"""Routing an envelope to the handler registered for its payload type."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from google.protobuf.message import Message
from park.events.v1.envelope_pb2 import Envelope
from pymongo.asynchronous.client_session import AsyncClientSession

from parkos.events.envelope import payload_type_name, unpack_payload

Handler = Callable[[Any, Envelope, AsyncClientSession], Awaitable[None]]


class PermanentEventError(Exception):
    """A handler's verdict that this event can never be applied (it goes to the DLQ)."""


class EventHandlers:
    """Handlers by payload type: `handle(payload, envelope, session)` runs inside the inbox transaction."""

    def __init__(self) -> None:
        self._handlers: dict[str, tuple[type[Message], Handler]] = {}

    def register(self, payload_class: type[Message], handler: Handler) -> EventHandlers:
        """Handle events whose payload is `payload_class`; returns self so registrations chain."""
        self._handlers[payload_type_name(payload_class)] = (payload_class, handler)
        return self

    def handles(self, envelope: Envelope) -> bool:
        """Whether some handler wants this event (other types are skipped, not dead-lettered)."""
        return envelope.type in self._handlers

    async def dispatch(self, envelope: Envelope, session: AsyncClientSession) -> None:
        """Unpack the payload and run its handler in the caller's transaction."""
        payload_class, handler = self._handlers[envelope.type]
        await handler(unpack_payload(envelope, payload_class), envelope, session)
