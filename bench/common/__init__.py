"""Shared helpers for the Park OS benchmarks.

- `infra`: where the running Kafka broker and MongoDB-compatible server are, unique names, cleanup;
- `stats`: latency histograms (hdrhistogram) and rates;
- `load`: closed-loop (N concurrent workers, or a sweep over several N) and paced open-loop
  drivers for any async operation;
- `kafka`: what reached a topic: its record count, and when each event arrived;
- `report`: plain-text tables, the final PASS/MISS targets section, progress lines;
- `service_process`: a service in its own process (free port, wait for SERVING, its CPU and
  access-log durations, stop); `proc`: a process's CPU time.
"""
from bench.common.infra import BenchInfra, delete_topics, describe_machine, drop_databases, wait_for_leaders
from bench.common.kafka import TopicWatcher, end_offsets_total
from bench.common.load import LoadResult, best_throughput, run_closed_loop, run_open_loop, sweep_closed_loop
from bench.common.report import Table, Targets, fmt_count, fmt_ms, fmt_rate, progress
from bench.common.stats import LatencyHistogram, rate

__all__ = [
    "BenchInfra",
    "LatencyHistogram",
    "LoadResult",
    "Table",
    "Targets",
    "TopicWatcher",
    "best_throughput",
    "delete_topics",
    "describe_machine",
    "drop_databases",
    "end_offsets_total",
    "fmt_count",
    "fmt_ms",
    "fmt_rate",
    "progress",
    "rate",
    "run_closed_loop",
    "run_open_loop",
    "sweep_closed_loop",
    "wait_for_leaders",
]
