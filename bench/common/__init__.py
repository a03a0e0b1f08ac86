"""Shared helpers for the Park OS benchmarks.

- `infra`: where the running Kafka broker and MongoDB-compatible server are, unique names, cleanup;
- `stats`: latency histograms (hdrhistogram) and rates;
- `load`: closed-loop (N concurrent workers) and paced open-loop drivers for any async operation;
- `report`: plain-text tables and the final PASS/MISS targets section.
"""
from bench.common.infra import BenchInfra, delete_topics, describe_machine, drop_databases, wait_for_leaders
from bench.common.load import LoadResult, run_closed_loop, run_open_loop
from bench.common.report import Table, Targets, fmt_count, fmt_ms, fmt_rate
from bench.common.stats import LatencyHistogram, rate

__all__ = [
    "BenchInfra",
    "LatencyHistogram",
    "LoadResult",
    "Table",
    "Targets",
    "delete_topics",
    "describe_machine",
    "drop_databases",
    "fmt_count",
    "fmt_ms",
    "fmt_rate",
    "rate",
    "run_closed_loop",
    "run_open_loop",
    "wait_for_leaders",
]
