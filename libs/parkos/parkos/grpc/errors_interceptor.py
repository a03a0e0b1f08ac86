"""Server interceptor: exceptions become precise gRPC statuses, in one place.

Servicers raise ``parkos.errors`` exceptions and never set status codes themselves
(grpc's own examples recommend one exception-to-status interceptor over per-RPC code).
Unknown exceptions become INTERNAL with a fixed message; their text and traceback go to
the log only, because they may carry connection strings, queries or customer data.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import grpc

from parkos.grpc.handler_wrapping import wrap_handler
from parkos.grpc.status_mapping import is_server_fault, status_for_exception
from parkos.logging import get_logger


class ErrorMappingInterceptor(grpc.aio.ServerInterceptor):
    """Aborts the call with the status its exception maps to (see ``status_mapping``)."""

    def __init__(self, logger: Any | None = None) -> None:
        self._logger = logger if logger is not None else get_logger(__name__)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        method = handler_call_details.method
        handler = await continuation(handler_call_details)

        def around(_request: Any, context: grpc.aio.ServicerContext) -> Any:
            return _mapped_errors(self._logger, method, context)

        return wrap_handler(handler, around)


@asynccontextmanager
async def _mapped_errors(logger: Any, method: str, context: grpc.aio.ServicerContext) -> AsyncIterator[None]:
    try:
        yield
    except grpc.aio.AbortError:
        raise  # the handler already chose a status; grpc checks it is this very exception
    except Exception as exc:
        if context.done():
            raise  # a status went out already; nothing more can be said to the client
        status = status_for_exception(exc)
        if is_server_fault(status.code):
            logger.exception("rpc_failed", method=method, error_type=type(exc).__name__)
        await context.abort_with_status(status)
