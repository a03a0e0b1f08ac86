"""Prometheus metrics shared by Park OS libraries, and the per-process /metrics endpoint.

Metric objects live at module level on the default registry (Prometheus' convention);
modules that own other measurements (outbox lag, consumer lag) declare their own next
to their code. Nothing is started at import time.
"""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, start_http_server

# Buckets from 1 ms to 10 s: unary calls sit in the low milliseconds, while streams and
# calls waiting on a Mongo transaction or Kafka can take seconds.
_RPC_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

RPC_DURATION_SECONDS = Histogram(
    "parkos_rpc_duration_seconds",
    "Server-side gRPC call duration, by full method name and status code.",
    ("method", "code"),
    buckets=_RPC_BUCKETS,
)
RPC_TOTAL = Counter(
    "parkos_rpc_total",
    "Server-side gRPC calls completed, by full method name and status code.",
    ("method", "code"),
)


def observe_rpc(method: str, code: str, duration_seconds: float) -> None:
    """Record one finished RPC in the latency histogram and the call counter."""
    RPC_DURATION_SECONDS.labels(method=method, code=code).observe(duration_seconds)
    RPC_TOTAL.labels(method=method, code=code).inc()


def start_metrics_server(
    port: int,
    *,
    host: str = "127.0.0.1",
    registry: CollectorRegistry = REGISTRY,
) -> int:
    """Serve ``/metrics`` over HTTP on ``host:port`` in a daemon thread; returns the bound port.

    ``port`` 0 means metrics are disabled: nothing starts and 0 is returned. The default
    host is loopback; a container that Prometheus scrapes from outside passes ``0.0.0.0``.
    """
    if port == 0:
        return 0
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return int(server.server_port)
