"""Exceptions become precise gRPC statuses, in one place.

Servicers raise ``parkos.errors`` exceptions and never set status codes themselves
(grpc's own examples recommend one exception-to-status interceptor over per-RPC code).
Unknown exceptions become INTERNAL with a fixed message; their text and traceback go to
the log only, because they may carry connection strings, queries or customer data.
``interceptor.ParkServerInterceptor`` calls ``abort_for`` for whatever the
authentication or the handler raised, except ``grpc.aio.AbortError`` (the handler
already chose a status; grpc checks it is that very exception).
"""

from __future__ import annotations

from typing import Any, NoReturn

import grpc

from parkos.grpc.status_mapping import is_server_fault, status_for_exception


async def abort_for(
    logger: Any, method: str, context: grpc.aio.ServicerContext, exc: Exception,
    trailing: tuple[tuple[str, str], ...] = (),
) -> NoReturn:
    """End the call with the status ``exc`` maps to; re-raises ``exc`` when a status went out already.

    ``trailing``: metadata to send with the status besides its details (the correlation id:
    an abort replaces the trailing metadata set before it). Must be called from the
    ``except`` block that caught ``exc`` (the log takes its traceback).
    """
    if context.done():
        raise exc  # a status went out already; nothing more can be said to the client
    status = status_for_exception(exc)
    if is_server_fault(status.code):
        logger.exception("rpc_failed", method=method, error_type=type(exc).__name__)
    await context.abort(status.code, status.details, (*trailing, *status.trailing_metadata))  # raises AbortError
    raise AssertionError("abort returned")  # pragma: no cover
