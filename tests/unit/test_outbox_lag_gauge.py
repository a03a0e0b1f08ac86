"""The outbox lag alerts on: it must keep growing while nothing reaches Kafka, not freeze."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import REGISTRY

from parkos.outbox.metrics import OutboxMetrics

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _scraped(service: str) -> float | None:
    return REGISTRY.get_sample_value("parkos_outbox_lag_seconds", {"service": service})


def test_the_lag_grows_while_the_oldest_row_waits_and_falls_to_zero_when_none_does() -> None:
    now = [T0]
    metrics = OutboxMetrics("lag-test", clock=lambda: now[0])
    assert _scraped("lag-test") == 0.0
    metrics.oldest_waiting({"created_at": T0 - timedelta(seconds=2)})
    assert _scraped("lag-test") == 2.0
    now[0] = T0 + timedelta(minutes=5)  # a broker outage: no batch is acknowledged, nothing is reported
    assert _scraped("lag-test") == 302.0
    metrics.oldest_waiting(None)
    assert _scraped("lag-test") == 0.0


def test_a_replica_standing_by_reports_no_lag_of_its_own() -> None:
    now = [T0]
    metrics = OutboxMetrics("standby-test", clock=lambda: now[0])
    metrics.oldest_waiting({"created_at": T0 - timedelta(seconds=30)})
    metrics.standing_by()
    now[0] = T0 + timedelta(hours=1)
    assert _scraped("standby-test") == 0.0
