"""The analytics worker's Prometheus figures: what its agents did, read from ``Counters`` at scrape time.

Worth an alert: ``dead_lettered`` (poison records), and ``not_admitted`` growing outside
rebalances (records Faust lost on their way to an agent and the worker fetched again,
partition_order.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from services.analytics.handlers import Counters
from services.analytics.heartbeat import LoopHeartbeat
from services.analytics.tables import Tables

# Counters field -> the outcome label it is exported under.
_OUTCOMES = {
    "split": "source_split", "facts": "fact_read", "applied": "fact_applied", "duplicates": "fact_duplicate",
    "replays": "fact_replayed", "valuations": "valuation_published", "dead_letters": "dead_lettered",
    "not_admitted": "not_admitted", "clock_facts": "clock_fact_sent",
}
# Counters fields exported on their own: not records.
_OWN_COUNTERS = {"forgotten": ("parkos_analytics_fact_ids_forgotten", "Fact ids forgotten after PARKOS_FACT_IDS_KEPT_SECONDS")}


class WorkerMetrics(Collector):
    """``parkos_analytics_worker_records_total{outcome}`` (``fact_read`` counts every fact, the other
    ``fact_*`` outcomes say what became of them), ``parkos_analytics_fact_ids_forgotten_total``,
    ``parkos_analytics_worker_loop_silence_seconds`` and ``parkos_analytics_fact_ids_kept``."""

    def __init__(self, counters: Counters, tables: Tables, heartbeat: LoopHeartbeat) -> None:
        missing = {field.name for field in fields(counters)} - set(_OUTCOMES) - set(_OWN_COUNTERS)
        if missing:
            raise ValueError(f"counters without an outcome label: {sorted(missing)}")
        self._counters = counters
        self._tables = tables
        self._heartbeat = heartbeat

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        records = CounterMetricFamily(
            "parkos_analytics_worker_records", "What the analytics agents did with records since start",
            labels=["outcome"],
        )
        for name, outcome in _OUTCOMES.items():
            records.add_metric([outcome], getattr(self._counters, name))
        yield records
        for name, (metric, description) in _OWN_COUNTERS.items():
            yield CounterMetricFamily(metric, description, value=getattr(self._counters, name))
        yield GaugeMetricFamily(
            "parkos_analytics_worker_loop_silence_seconds",
            "Seconds since the event loop the agents run on last beat (heartbeat.py)",
            value=self._heartbeat.silence_seconds(),
        )
        yield GaugeMetricFamily(
            "parkos_analytics_fact_ids_kept", "Fact ids remembered to recognise copies (PARKOS_FACT_IDS_KEPT_SECONDS)",
            value=self._tables.fact_offsets.first_seen.count(),
        )
