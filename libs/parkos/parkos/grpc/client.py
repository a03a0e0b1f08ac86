"""Client side: channels that carry Park OS call metadata, and rich-error decoding.

Every call made through these channels sends ``authorization: Bearer <token>`` and
``x-correlation-id``. The correlation id is the one given to the channel or, inside a
server handler or consumer, the one bound in the current context, so a request keeps
its id as it travels from service to service.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status.rpc_status import GRPC_DETAILS_METADATA_KEY

from parkos.grpc.metadata import AUTHORIZATION_KEY, CORRELATION_ID_KEY

ChannelOptions = Sequence[tuple[str, Any]]


@dataclass(frozen=True)
class _CallMetadata:
    token: str | None
    correlation_id: str | None

    def pairs(self) -> list[tuple[str, str]]:
        """The metadata to add to a call, evaluated when the call is made."""
        pairs: list[tuple[str, str]] = []
        if self.token:
            pairs.append((AUTHORIZATION_KEY, f"Bearer {self.token}"))
        correlation_id = self.correlation_id or _bound_correlation_id()
        if correlation_id:
            pairs.append((CORRELATION_ID_KEY, correlation_id))
        return pairs

    def merged(self, existing: Any) -> list[tuple[str, str]]:
        """``existing`` call metadata plus ours, where a key set per call wins."""
        current = list(existing or ())
        present = {key.lower() for key, _ in current}
        return current + [(k, v) for k, v in self.pairs() if k not in present]


# --- asyncio channels ---------------------------------------------------------------


class _AioMetadataChannel(grpc.aio.Channel):
    """A grpc.aio channel whose calls carry our metadata, added by its multi-callables.

    Not a client interceptor: with any interceptor grpc.aio runs each call as an
    "intercepted" call with a task of its own, about a fifth more client CPU per call.
    Adding the metadata where the call is made is the same for the caller: a call's own
    ``metadata`` keys win, and the correlation id is read when the call is made.
    """

    def __init__(self, channel: grpc.aio.Channel, metadata: _CallMetadata) -> None:
        self._channel = channel
        self._metadata = metadata

    async def __aenter__(self) -> _AioMetadataChannel:
        return self

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        await self._channel.close(None)

    async def close(self, grace: float | None = None) -> None:
        await self._channel.close(grace)

    def get_state(self, try_to_connect: bool = False) -> grpc.ChannelConnectivity:
        return self._channel.get_state(try_to_connect)

    async def wait_for_state_change(self, last_observed_state: grpc.ChannelConnectivity) -> None:
        await self._channel.wait_for_state_change(last_observed_state)

    async def channel_ready(self) -> None:
        await self._channel.channel_ready()

    def unary_unary(self, method: str, request_serializer: Any = None, response_deserializer: Any = None,
                    _registered_method: bool | None = False) -> Any:
        inner = self._channel.unary_unary(method, request_serializer, response_deserializer, _registered_method)
        return _WithMetadata(inner, self._metadata)

    def unary_stream(self, method: str, request_serializer: Any = None, response_deserializer: Any = None,
                     _registered_method: bool | None = False) -> Any:
        inner = self._channel.unary_stream(method, request_serializer, response_deserializer, _registered_method)
        return _WithMetadata(inner, self._metadata)

    def stream_unary(self, method: str, request_serializer: Any = None, response_deserializer: Any = None,
                     _registered_method: bool | None = False) -> Any:
        inner = self._channel.stream_unary(method, request_serializer, response_deserializer, _registered_method)
        return _WithMetadata(inner, self._metadata)

    def stream_stream(self, method: str, request_serializer: Any = None, response_deserializer: Any = None,
                      _registered_method: bool | None = False) -> Any:
        inner = self._channel.stream_stream(method, request_serializer, response_deserializer, _registered_method)
        return _WithMetadata(inner, self._metadata)


class _WithMetadata:
    """A multi-callable of any of the four shapes, whose calls carry our metadata."""

    def __init__(self, inner: Any, metadata: _CallMetadata) -> None:
        self._inner = inner
        self._metadata = metadata

    def __call__(self, request: Any = None, **options: Any) -> Any:
        options["metadata"] = self._metadata.merged(options.get("metadata"))
        return self._inner(request, **options)


def open_channel(
    target: str,
    *,
    token: str | None = None,
    correlation_id: str | None = None,
    credentials: grpc.ChannelCredentials | None = None,
    options: ChannelOptions = (),
) -> grpc.aio.Channel:
    """An asyncio channel to ``target`` that authenticates and correlates every call.

    Without ``credentials`` the channel is plaintext (loopback, inside a mesh); pass
    ``grpc.ssl_channel_credentials(...)`` for TLS or mTLS. Close it with ``await ch.close()``.
    """
    if credentials is None:
        channel = grpc.aio.insecure_channel(target, options=options)
    else:
        channel = grpc.aio.secure_channel(target, credentials, options=options)
    return _AioMetadataChannel(channel, _CallMetadata(token, correlation_id))


# --- blocking channels (CLI) --------------------------------------------------------


class _SyncCallDetails(
    collections.namedtuple(
        "_SyncCallDetails", ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")
    ),
    grpc.ClientCallDetails,
):
    """grpc.ClientCallDetails is abstract; interceptors build their own to change metadata."""


class _SyncMetadataInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    def __init__(self, metadata: _CallMetadata) -> None:
        self._metadata = metadata

    def _details(self, details: grpc.ClientCallDetails) -> _SyncCallDetails:
        return _SyncCallDetails(
            details.method,
            details.timeout,
            self._metadata.merged(details.metadata),
            details.credentials,
            getattr(details, "wait_for_ready", None),
            getattr(details, "compression", None),
        )

    def intercept_unary_unary(self, continuation, client_call_details, request):  # type: ignore[no-untyped-def]
        return continuation(self._details(client_call_details), request)

    def intercept_unary_stream(self, continuation, client_call_details, request):  # type: ignore[no-untyped-def]
        return continuation(self._details(client_call_details), request)

    def intercept_stream_unary(self, continuation, client_call_details, request_iterator):  # type: ignore[no-untyped-def]
        return continuation(self._details(client_call_details), request_iterator)

    def intercept_stream_stream(self, continuation, client_call_details, request_iterator):  # type: ignore[no-untyped-def]
        return continuation(self._details(client_call_details), request_iterator)


def open_sync_channel(
    target: str,
    *,
    token: str | None = None,
    correlation_id: str | None = None,
    credentials: grpc.ChannelCredentials | None = None,
    options: ChannelOptions = (),
) -> grpc.Channel:
    """A blocking channel (for ``parkctl``) with the same metadata as ``open_channel``."""
    if credentials is None:
        channel = grpc.insecure_channel(target, options=options)
    else:
        channel = grpc.secure_channel(target, credentials, options=options)
    return grpc.intercept_channel(channel, _SyncMetadataInterceptor(_CallMetadata(token, correlation_id)))


# --- rich errors --------------------------------------------------------------------


def rich_status(error: grpc.RpcError) -> status_pb2.Status | None:
    """The ``google.rpc.Status`` a server attached to a failed call, if any (aio or sync)."""
    trailing = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
    for key, value in trailing or ():
        if key == GRPC_DETAILS_METADATA_KEY:
            return status_pb2.Status.FromString(value)
    return None


def field_violations(error: grpc.RpcError) -> list[tuple[str, str]]:
    """``(field, description)`` pairs from the error's ``google.rpc.BadRequest`` detail."""
    status = rich_status(error)
    if status is None:
        return []
    violations: list[tuple[str, str]] = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            violations.extend((v.field, v.description) for v in bad_request.field_violations)
    return violations


def client_credentials(
    ca_file: Path | None, cert_file: Path | None = None, key_file: Path | None = None
) -> grpc.ChannelCredentials | None:
    """Channel credentials for a TLS server (``ca_file``: its CA, else the system's roots), with this
    client's certificate for mutual TLS; None (plaintext) when no file is given."""
    if ca_file is None and cert_file is None and key_file is None:
        return None
    if (cert_file is None) != (key_file is None):
        raise ValueError("a client certificate needs its key, and a key its certificate")
    return grpc.ssl_channel_credentials(
        root_certificates=ca_file.read_bytes() if ca_file is not None else None,
        private_key=key_file.read_bytes() if key_file is not None else None,
        certificate_chain=cert_file.read_bytes() if cert_file is not None else None,
    )


def _bound_correlation_id() -> str | None:
    # Imported here, not at the top: structlog takes a third of a second to import, and a
    # command-line client (parkctl) gives every channel its own id and never needs it.
    from parkos.logging import current_correlation_id

    return current_correlation_id()
