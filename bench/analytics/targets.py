"""The issue's latency targets, checked against what a run measured, and how latencies print.

Targets (issue 5): at 1,000 events/s, p99 of "revenue readable through GetParkRevenue"
<= 250 ms and <= 5x the bare consumer's p99; the first event after a long idle pause
readable in <= 100 ms.
"""

from __future__ import annotations

from bench.analytics.observer import Timings
from bench.common import LatencyHistogram, Targets, fmt_ms, fmt_rate

P99_TARGET_MS = 250.0
BARE_RATIO_TARGET = 5.0
IDLE_TARGET_MS = 100.0
TARGET_RATE = 1000


def p50_p99(histogram: LatencyHistogram) -> str:
    """``"p50 / p99"`` in ms, or ``-`` when nothing was measured."""
    if not histogram.count:
        return "-"
    summary = histogram.summary()
    return f"{fmt_ms(summary.p50_ms)} / {fmt_ms(summary.p99_ms)}"


def worst(histogram: LatencyHistogram) -> str:
    """The slowest latency in ms, or ``-`` when nothing was measured."""
    return fmt_ms(histogram.summary().max_ms) if histogram.count else "-"


def check_targets(results: dict[int, Timings], idle_first: LatencyHistogram | None, idle_seconds: float) -> bool:
    """Print the targets section; True when every target that could be measured was met."""
    targets = Targets()
    at_target = results.get(TARGET_RATE)
    if at_target is None or not at_target.readable.count:
        targets.check(f"p99 published -> readable at {TARGET_RATE:,}/s", f"<= {P99_TARGET_MS:g} ms", "-", None)
        targets.check("... vs bare consumer p99", f"<= {BARE_RATIO_TARGET:g}x", "-", None)
    else:
        p99 = at_target.readable.summary().p99_ms
        bare = at_target.bare.summary().p99_ms
        targets.check(f"p99 published -> readable at {TARGET_RATE:,}/s", f"<= {P99_TARGET_MS:g} ms", fmt_ms(p99),
                      p99 <= P99_TARGET_MS)
        ratio = p99 / bare if bare else float("inf")
        targets.check("... vs bare consumer p99", f"<= {BARE_RATIO_TARGET:g}x", f"{ratio:.1f}x ({fmt_ms(bare)})",
                      ratio <= BARE_RATIO_TARGET)
    held = [rate for rate, t in results.items() if t.held]
    targets.check("highest rate held", "report", fmt_rate(max(held)) if held else "none", True if held else None)
    if idle_first is None or not idle_first.count:
        targets.check(f"first event after {idle_seconds:g} s idle", f"<= {IDLE_TARGET_MS:g} ms", "-", None)
    else:
        first = idle_first.summary().max_ms
        targets.check(f"first event after {idle_seconds:g} s idle", f"<= {IDLE_TARGET_MS:g} ms", fmt_ms(first),
                      first <= IDLE_TARGET_MS)
    targets.print()
    return targets.all_passed
