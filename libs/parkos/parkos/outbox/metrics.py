"""Prometheus figures for the outbox: how much is waiting and how old the oldest row is."""
from __future__ import annotations

from datetime import datetime

from prometheus_client import Counter, Gauge
from pymongo.asynchronous.collection import AsyncCollection

from parkos.clock import Clock, park_clock
from parkos.outbox.scan import UNSENT

_PUBLISHED = Counter("parkos_outbox_published_total", "Outbox rows published to Kafka", ["service"])
_UNSENT = Gauge("parkos_outbox_unsent", "Outbox rows not yet acknowledged by Kafka", ["service"])
_OLDEST_AGE = Gauge(
    "parkos_outbox_lag_seconds", "Age of the oldest outbox row not yet acknowledged by Kafka", ["service"]
)
_SESSIONS_ENDED = Counter(
    "parkos_outbox_relay_sessions_ended_total",
    "Leased publishing runs of the relay that ended, by why: lease_lost (another relay holds it), "
    "renewal_late (the store did not answer a renewal in time, so the relay stopped sending) or "
    "started_late (opening the producer and the change stream took the lease's time; nothing was sent)",
    ["service", "reason"],
)
_UNMARKED = Gauge(
    "parkos_outbox_unmarked",
    "Outbox rows acknowledged by Kafka but not yet marked sent (a relay restart would re-send them)",
    ["service"],
)


class OutboxMetrics:
    """The outbox figures of one service."""

    def __init__(self, service: str, *, clock: Clock = park_clock) -> None:
        self._service = service
        self._clock = clock
        self._oldest_created_at: datetime | None = None
        # computed when scraped, from the oldest row known to wait: while nothing is acknowledged
        # (a broker outage, a relay stuck closing its producer) the figure keeps growing instead
        # of showing the last value a batch left behind
        _OLDEST_AGE.labels(self._service).set_function(self.lag_seconds)

    def lag_seconds(self) -> float:
        """Age of the oldest row known to wait for Kafka's acknowledgement (0 when none waits)."""
        if self._oldest_created_at is None:
            return 0.0
        return max((self._clock() - self._oldest_created_at).total_seconds(), 0.0)

    def published(self, rows: list[dict]) -> None:
        """Count a published batch."""
        _PUBLISHED.labels(self._service).inc(len(rows))

    def oldest_waiting(self, row: dict | None) -> None:
        """The oldest row read but not yet acknowledged, or None when none waits (no lag).

        The relay reads in commit order and stays ahead of publishing while there is a
        backlog, so the head of what it holds is the oldest unpublished row.
        """
        self._oldest_created_at = row["created_at"] if row else None

    def session_ended(self, reason: str) -> None:
        """Count a publishing run that ended because the lease was lost or could not be renewed in time."""
        _SESSIONS_ENDED.labels(self._service, reason).inc()

    def standing_by(self) -> None:
        """This replica does not hold the lease: the one that does reports the lag."""
        self._oldest_created_at = None

    async def observe_backlog(self, outbox: AsyncCollection, unmarked: int) -> None:
        """Count unsent rows: those not marked sent less those published and awaiting the mark.

        One count query: run it when the relay has caught up, so it costs nothing under load.
        """
        not_marked = await outbox.count_documents(UNSENT)
        _UNSENT.labels(self._service).set(max(not_marked - unmarked, 0))
        self.observe_unmarked(unmarked)

    def observe_unmarked(self, unmarked: int) -> None:
        """Rows published and awaiting their mark, as the marker counts them."""
        _UNMARKED.labels(self._service).set(unmarked)
