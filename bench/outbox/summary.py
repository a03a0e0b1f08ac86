"""The end of the report: one line per measurement, then the targets of issue 2, each
PASS or MISS as measured (NOT MEASURED when there was nothing to judge)."""
from __future__ import annotations

import time

from bench.common import LoadResult, Table, Targets, best_throughput, describe_machine, fmt_ms, fmt_rate, rate
from bench.outbox.drain import DrainResult
from bench.outbox.latency import LatencyRun
from bench.outbox.raw_producer import RawResult
from bench.outbox.settings import Settings
from bench.outbox.transactions import writers

RELAY_TARGET_RATIO = 0.50  # relay drain rate / raw acknowledged producer rate
LATENCY_TARGET_P99_MS = 50.0  # commit->Kafka p99 at half the sustainable write rate


def print_summary(
    raw: RawResult, bare: dict[int, LoadResult], outbox: dict[int, LoadResult], drain: DrainResult,
    runs: list[LatencyRun], began: float,
) -> None:
    """The summary table; `began` is the monotonic time the measurements started."""
    bare_c, bare_best = best_throughput(bare)
    outbox_c, outbox_best = best_throughput(outbox)
    raw_summary = raw.latency.summary()
    table = Table("Summary", ["measurement", "rate", "p50", "p99", "max"])
    table.add("A raw producer, acknowledged records", fmt_rate(raw.throughput), fmt_ms(raw_summary.p50_ms),
              fmt_ms(raw_summary.p99_ms), fmt_ms(raw_summary.max_ms))
    for name, result in ((f"B bare transaction ({writers(bare_c)})", bare_best),
                         (f"C outbox write ({writers(outbox_c)})", outbox_best)):
        summary = result.latency.summary()
        table.add(name, fmt_rate(result.throughput), fmt_ms(summary.p50_ms), fmt_ms(summary.p99_ms),
                  fmt_ms(summary.max_ms))
    table.add("D relay drain, events published + acked", fmt_rate(drain.throughput), "", "", "")
    table.add("D  ... and marked sent", fmt_rate(rate(drain.backlog - drain.left_unmarked, drain.mark_seconds)),
              "", "", "")
    for latency_run in runs:
        summary = latency_run.latency.summary()
        table.add(f"E commit->Kafka at {latency_run.label}", fmt_rate(latency_run.load.throughput),
                  fmt_ms(summary.p50_ms), fmt_ms(summary.p99_ms), fmt_ms(summary.max_ms))
    table.note(f"whole run {time.monotonic() - began:.0f} s; machine after the run: {describe_machine()}")
    table.print()


def print_targets(raw: RawResult, drain: DrainResult, runs: list[LatencyRun], settings: Settings) -> bool:
    """The targets table; whether every target was measured and met."""
    ratio = drain.share_of(raw.throughput)
    targets = Targets()
    targets.check("relay drain vs raw acknowledged producer", f">= {RELAY_TARGET_RATIO:.0%}",
                  f"{ratio * 100:.0f}% ({fmt_rate(drain.throughput)} / {fmt_rate(raw.throughput)})"
                  + (f", timed out after {drain.drained:,} of {drain.backlog:,}" if drain.timed_out else ""),
                  None if drain.drained == 0 or raw.acked == 0
                  else ratio >= RELAY_TARGET_RATIO and (drain.timed_out or drain.left_unpublished == 0))
    half = runs[0]
    half_summary = half.latency.summary()
    measured = half.received > 0 and half.missing == 0
    targets.check(f"commit->Kafka p99 at {settings.latency_fraction:.0%} of sustainable write rate",
                  f"<= {LATENCY_TARGET_P99_MS:g} ms",
                  f"{fmt_ms(half_summary.p99_ms)} over {half.received:,} events at "
                  f"{fmt_rate(half.load.throughput)} (offered {fmt_rate(half.target_rate)})"
                  + (f", {half.missing:,} missing" if half.missing else ""),
                  (half_summary.p99_ms <= LATENCY_TARGET_P99_MS) if measured
                  else (None if half.received == 0 else False))
    targets.print("Targets (issue 2, item 8)")
    if settings.latency_fraction != 0.5:
        print("  note: the latency target is defined at 50% of the sustainable rate; this run used "
              f"{settings.latency_fraction:.0%}")
    return targets.all_passed
