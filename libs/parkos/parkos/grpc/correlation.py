"""Server interceptor: one correlation id per call, from the caller or freshly made.

The id is bound into structlog's context variables, so every log line the handler
writes carries it, and it is sent back as initial metadata so a caller that did not
send one can still quote it. Sending it means initial metadata is already out when the
handler runs: handlers put their own metadata in trailing metadata instead.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import grpc

from parkos.grpc.handler_wrapping import wrap_handler
from parkos.grpc.metadata import CORRELATION_ID_KEY, first_metadata_value
from parkos.logging import bind_correlation_id

# Caller-supplied ids end up in every log line and Kafka header: accept only short,
# printable tokens, so a hostile client cannot inject log content.
_ACCEPTABLE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


class CorrelationIdInterceptor(grpc.aio.ServerInterceptor):
    """Binds ``x-correlation-id`` (or a new id) for the call and echoes it to the client."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        return wrap_handler(await continuation(handler_call_details), _correlated)


def accepted_correlation_id(value: str | None) -> str | None:
    """``value`` if it is a well-formed correlation id, else None (a new one will be made)."""
    if value is not None and _ACCEPTABLE_ID.fullmatch(value):
        return value
    return None


@asynccontextmanager
async def _correlated(_request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[None]:
    incoming = first_metadata_value(context.invocation_metadata(), CORRELATION_ID_KEY)
    correlation_id = bind_correlation_id(accepted_correlation_id(incoming))
    await context.send_initial_metadata(((CORRELATION_ID_KEY, correlation_id),))
    yield
