"""Prometheus figures for the outbox: how much is waiting and how old the oldest row is."""
from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import Counter, Gauge
from pymongo.asynchronous.collection import AsyncCollection

_PUBLISHED = Counter("parkos_outbox_published_total", "Outbox rows published to Kafka", ["service"])
_UNSENT = Gauge("parkos_outbox_unsent", "Outbox rows not yet acknowledged by Kafka", ["service"])
_OLDEST_AGE = Gauge(
    "parkos_outbox_lag_seconds", "Age of the oldest outbox row not yet acknowledged by Kafka", ["service"]
)


class OutboxMetrics:
    """The outbox figures of one service."""

    def __init__(self, service: str) -> None:
        self._service = service

    def published(self, rows: list[dict]) -> None:
        """Count a published batch."""
        _PUBLISHED.labels(self._service).inc(len(rows))

    async def observe_lag(self, outbox: AsyncCollection) -> None:
        """Measure the backlog (run when the relay is idle, so it costs nothing under load)."""
        unsent = await outbox.count_documents({"sent": False})
        _UNSENT.labels(self._service).set(unsent)
        oldest = await outbox.find_one({"sent": False}, sort=[("_id", 1)], projection={"created_at": 1})
        age = (datetime.now(UTC) - oldest["created_at"]).total_seconds() if oldest else 0.0
        _OLDEST_AGE.labels(self._service).set(max(age, 0.0))
