"""The worker's Prometheus figures: every counter the agents keep is exported, under its outcome."""

from __future__ import annotations

from dataclasses import fields

from prometheus_client import CollectorRegistry, generate_latest

from services.analytics.app import build_worker_app
from services.analytics.handlers import Counters
from services.analytics.heartbeat import LoopHeartbeat
from services.analytics.settings import AnalyticsSettings
from services.analytics.worker_metrics import WorkerMetrics


def test_each_counter_is_a_labelled_sample_and_the_ids_kept_a_gauge() -> None:
    worker = build_worker_app(AnalyticsSettings())
    registry = CollectorRegistry()
    registry.register(WorkerMetrics(worker.counters, worker.tables, worker.heartbeat))
    worker.counters.applied, worker.counters.dead_letters = 41, 2
    worker.tables.fact_offsets.first_seen.remember(3, "fact-1", 1)

    assert registry.get_sample_value("parkos_analytics_worker_records_total", {"outcome": "fact_applied"}) == 41
    assert registry.get_sample_value("parkos_analytics_worker_records_total", {"outcome": "dead_lettered"}) == 2
    assert registry.get_sample_value("parkos_analytics_fact_ids_kept") == 1
    exported = generate_latest(registry).decode()
    assert exported.count("parkos_analytics_worker_records_total{") == len(fields(Counters)) - 1
    worker.counters.forgotten = 5
    assert registry.get_sample_value("parkos_analytics_fact_ids_forgotten_total") == 5


def test_the_loop_silence_grows_until_the_next_beat() -> None:
    now = [100.0]
    heartbeat = LoopHeartbeat(clock=lambda: now[0])
    worker = build_worker_app(AnalyticsSettings())
    registry = CollectorRegistry()
    registry.register(WorkerMetrics(worker.counters, worker.tables, heartbeat))
    now[0] = 112.5
    assert registry.get_sample_value("parkos_analytics_worker_loop_silence_seconds") == 12.5
    heartbeat.beat()
    assert registry.get_sample_value("parkos_analytics_worker_loop_silence_seconds") == 0.0
