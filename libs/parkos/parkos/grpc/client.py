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
from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status.rpc_status import GRPC_DETAILS_METADATA_KEY

from parkos.grpc.metadata import AUTHORIZATION_KEY, CORRELATION_ID_KEY
from parkos.logging import current_correlation_id

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
        correlation_id = self.correlation_id or current_correlation_id()
        if correlation_id:
            pairs.append((CORRELATION_ID_KEY, correlation_id))
        return pairs

    def merged(self, existing: Any) -> list[tuple[str, str]]:
        """``existing`` call metadata plus ours, where a key set per call wins."""
        current = list(existing or ())
        present = {key.lower() for key, _ in current}
        return current + [(k, v) for k, v in self.pairs() if k not in present]


# --- asyncio channels ---------------------------------------------------------------


class _AioMetadata:
    def __init__(self, metadata: _CallMetadata) -> None:
        self._metadata = metadata

    def _details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        return details._replace(metadata=grpc.aio.Metadata(*self._metadata.merged(details.metadata)))


# grpc.aio files each interceptor under the first arity it implements (an if/elif on
# isinstance), so one object implementing all four would only see unary-unary calls.
class _AioUnaryUnary(_AioMetadata, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(self, continuation, client_call_details, request):  # type: ignore[no-untyped-def]
        return await continuation(self._details(client_call_details), request)


class _AioUnaryStream(_AioMetadata, grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(self, continuation, client_call_details, request):  # type: ignore[no-untyped-def]
        return await continuation(self._details(client_call_details), request)


class _AioStreamUnary(_AioMetadata, grpc.aio.StreamUnaryClientInterceptor):
    async def intercept_stream_unary(self, continuation, client_call_details, request_iterator):  # type: ignore[no-untyped-def]
        return await continuation(self._details(client_call_details), request_iterator)


class _AioStreamStream(_AioMetadata, grpc.aio.StreamStreamClientInterceptor):
    async def intercept_stream_stream(self, continuation, client_call_details, request_iterator):  # type: ignore[no-untyped-def]
        return await continuation(self._details(client_call_details), request_iterator)


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
    metadata = _CallMetadata(token, correlation_id)
    interceptors = [cls(metadata) for cls in (_AioUnaryUnary, _AioUnaryStream, _AioStreamUnary, _AioStreamStream)]
    if credentials is None:
        return grpc.aio.insecure_channel(target, options=options, interceptors=interceptors)
    return grpc.aio.secure_channel(target, credentials, options=options, interceptors=interceptors)


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
