"""Prometheus figures for the outbox: how much is waiting and how old the oldest row is."""
from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import Counter, Gauge
from pymongo.asynchronous.collection import AsyncCollection

from parkos.outbox.scan import UNSENT

_PUBLISHED = Counter("parkos_outbox_published_total", "Outbox rows published to Kafka", ["service"])
_UNSENT = Gauge("parkos_outbox_unsent", "Outbox rows not yet acknowledged by Kafka", ["service"])
_OLDEST_AGE = Gauge(
    "parkos_outbox_lag_seconds", "Age of the oldest outbox row not yet acknowledged by Kafka", ["service"]
)
_UNMARKED = Gauge(
    "parkos_outbox_unmarked",
    "Outbox rows acknowledged by Kafka but not yet marked sent (a relay restart would re-send them)",
    ["service"],
)


class OutboxMetrics:
    """The outbox figures of one service."""

    def __init__(self, service: str) -> None:
        self._service = service

    def published(self, rows: list[dict]) -> None:
        """Count a published batch."""
        _PUBLISHED.labels(self._service).inc(len(rows))

    def oldest_waiting(self, row: dict | None) -> None:
        """The oldest row read but not yet acknowledged, or None when none waits (no lag).

        The relay reads in commit order and stays ahead of publishing while there is a
        backlog, so the head of what it holds is the oldest unpublished row.
        """
        age = (datetime.now(UTC) - row["created_at"]).total_seconds() if row else 0.0
        _OLDEST_AGE.labels(self._service).set(max(age, 0.0))

    async def observe_backlog(self, outbox: AsyncCollection, unmarked: int) -> None:
        """Count unsent rows: those not marked sent less those published and awaiting the mark.

        One count query: run it when the relay has caught up, so it costs nothing under load.
        """
        not_marked = await outbox.count_documents(UNSENT)
        _UNSENT.labels(self._service).set(max(not_marked - unmarked, 0))
        _UNMARKED.labels(self._service).set(unmarked)
