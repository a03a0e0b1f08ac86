"""Server interceptor: one structured log line and one Prometheus observation per call."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import grpc
from grpc_health.v1 import health

from parkos.grpc.handler_wrapping import wrap_handler
from parkos.grpc.principal_context import optional_principal
from parkos.grpc.status_mapping import is_server_fault
from parkos.logging import get_logger
from parkos.grpc.metadata import service_of
from parkos.metrics import observe_rpc

# Load balancers and kubelets probe health every few seconds: at INFO those lines would
# drown the real traffic, so they log at DEBUG (they are still counted in the metrics).
_QUIET_SERVICES = frozenset({health.SERVICE_NAME})


class AccessLogInterceptor(grpc.aio.ServerInterceptor):
    """Logs method, status code, duration, peer and caller role of every call; feeds metrics."""

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
            return _observed(self._logger, method, context)

        return wrap_handler(handler, around)


@asynccontextmanager
async def _observed(logger: Any, method: str, context: grpc.aio.ServicerContext) -> AsyncIterator[None]:
    started = time.perf_counter()
    code = grpc.StatusCode.UNKNOWN
    try:
        yield
        code = context.code() or grpc.StatusCode.OK
    except asyncio.CancelledError:
        code = grpc.StatusCode.CANCELLED
        raise
    except BaseException:
        # An abort (ours or the handler's) has already recorded its code on the context.
        code = context.code() or grpc.StatusCode.UNKNOWN
        raise
    finally:
        _record(logger, method, code, time.perf_counter() - started, context)


def _record(
    logger: Any, method: str, code: grpc.StatusCode, seconds: float, context: grpc.aio.ServicerContext
) -> None:
    observe_rpc(method, code.name, seconds)
    principal = optional_principal()
    _log_method(logger, method, code)(
        "rpc",
        method=method,
        code=code.name,
        duration_ms=round(seconds * 1000, 3),
        peer=context.peer(),
        role=str(principal.role) if principal is not None else None,
    )


def _log_method(logger: Any, method: str, code: grpc.StatusCode) -> Callable[..., Any]:
    if is_server_fault(code):
        return logger.error
    if service_of(method) in _QUIET_SERVICES:
        return logger.debug
    return logger.info
