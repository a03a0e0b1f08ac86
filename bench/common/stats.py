"""Latency histograms and rates.

Latencies are recorded in seconds (floats from `time.monotonic()` differences) and kept
in an HdrHistogram in microseconds with 3 significant digits, so percentiles are exact
to 0.1% whatever the number of samples, at a fixed memory cost.
"""
from __future__ import annotations

from dataclasses import dataclass

from hdrh.histogram import HdrHistogram

_LOWEST_US = 1
_HIGHEST_US = 10 * 60 * 1_000_000  # ten minutes: anything slower is clamped and counted
_SIGNIFICANT_DIGITS = 3


@dataclass(frozen=True)
class LatencySummary:
    """Percentiles of one histogram, in milliseconds."""

    count: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float


class LatencyHistogram:
    """Records latencies given in seconds; reports percentiles in milliseconds."""

    def __init__(self) -> None:
        self._hist = HdrHistogram(_LOWEST_US, _HIGHEST_US, _SIGNIFICANT_DIGITS)
        self.clamped = 0  # samples below zero or above the range, recorded at the bound

    def record(self, seconds: float) -> None:
        """Add one latency sample."""
        micros = int(seconds * 1_000_000)
        if micros < _LOWEST_US:
            if micros < 0:
                self.clamped += 1
            micros = _LOWEST_US
        elif micros > _HIGHEST_US:
            self.clamped += 1
            micros = _HIGHEST_US
        self._hist.record_value(micros)

    def merge(self, other: LatencyHistogram) -> None:
        """Add every sample of `other` to this histogram."""
        self._hist.add(other._hist)
        self.clamped += other.clamped

    @property
    def count(self) -> int:
        """Number of samples."""
        return self._hist.get_total_count()

    def percentile_ms(self, percentile: float) -> float:
        """The latency at `percentile` (0-100), in milliseconds; 0.0 with no samples."""
        if not self.count:
            return 0.0
        return self._hist.get_value_at_percentile(percentile) / 1000.0

    def summary(self) -> LatencySummary:
        """p50, p90, p99, max and mean, in milliseconds."""
        if not self.count:
            return LatencySummary(0, 0.0, 0.0, 0.0, 0.0, 0.0)
        return LatencySummary(
            count=self.count,
            p50_ms=self.percentile_ms(50),
            p90_ms=self.percentile_ms(90),
            p99_ms=self.percentile_ms(99),
            max_ms=self._hist.get_max_value() / 1000.0,
            mean_ms=self._hist.get_mean_value() / 1000.0,
        )


def rate(count: int, seconds: float) -> float:
    """Events per second; 0.0 for an empty or zero-length interval."""
    return count / seconds if seconds > 0 and count > 0 else 0.0
