"""Access log: one structured log line and one Prometheus observation per call.

``interceptor.ParkServerInterceptor`` times every call and hands it here when it ends.
The line goes through structlog like every other line (so ``capture_logs`` and the
configured renderer see it); what can be worked out once per method (the log level of a
successful call, the metric series) is, so a call pays only for its own fields.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from grpc_health.v1 import health

from parkos.grpc.metadata import service_of
from parkos.grpc.principal_context import optional_principal
from parkos.grpc.status_mapping import is_server_fault
from parkos.logging import get_logger
from parkos.metrics import RPC_DURATION_SECONDS, RPC_TOTAL

# Load balancers and kubelets probe health every few seconds: at INFO those lines would
# drown the real traffic, so they log at DEBUG (they are still counted in the metrics).
_QUIET_SERVICES = frozenset({health.SERVICE_NAME})
# Method names come from registered handlers only, but bound the caches all the same.
_MAX_SERIES = 4096


class AccessLog:
    """Logs method, status code, duration, peer and caller role of a call; feeds the metrics."""

    def __init__(self, logger: Any | None = None) -> None:
        self._logger = logger if logger is not None else get_logger(__name__)
        self._series: dict[tuple[str, grpc.StatusCode], tuple[Any, Any]] = {}

    def record(self, method: str, code: grpc.StatusCode, seconds: float, context: grpc.aio.ServicerContext) -> None:
        """Observe one finished call and write its access-log line."""
        histogram, counter = self._metrics(method, code)
        histogram.observe(seconds)
        counter.inc()
        principal = optional_principal()
        _log_method(self._logger, method, code)(
            "rpc",
            method=method,
            code=code.name,
            duration_ms=round(seconds * 1000, 3),
            peer=context.peer(),
            role=str(principal.role) if principal is not None else None,
        )

    def _metrics(self, method: str, code: grpc.StatusCode) -> tuple[Any, Any]:
        # ``labels()`` validates, builds a key and takes a lock on every call: keep the children.
        series = self._series.get((method, code))
        if series is None:
            series = (RPC_DURATION_SECONDS.labels(method=method, code=code.name),
                      RPC_TOTAL.labels(method=method, code=code.name))
            if len(self._series) < _MAX_SERIES:
                self._series[(method, code)] = series
        return series


def _log_method(logger: Any, method: str, code: grpc.StatusCode) -> Callable[..., Any]:
    if is_server_fault(code):
        return logger.error
    if service_of(method) in _QUIET_SERVICES:
        return logger.debug
    return logger.info
