"""Tumbling UTC hour and day windows of event time, and how long their buckets are kept.

Windows follow when a trade settled or was refunded, not when it was processed, so
replaying the same facts fills the same buckets. Retention is counted back from the
newest event time a tenant has seen (its watermark), never from the wall clock: a replay
a week later keeps exactly what the first run kept.
"""

from __future__ import annotations

from collections.abc import Mapping

from services.analytics.domain.revenue import ZERO, Bucket

MS_PER_SECOND = 1000
SECONDS_PER_HOUR = 3600
SECONDS_PER_DAY = 86_400


def hour_start(ms: int) -> int:
    """UTC start (seconds) of the hour that contains ``ms``."""
    return ms // (SECONDS_PER_HOUR * MS_PER_SECOND) * SECONDS_PER_HOUR


def day_start(ms: int) -> int:
    """UTC start (seconds) of the day that contains ``ms``."""
    return ms // (SECONDS_PER_DAY * MS_PER_SECOND) * SECONDS_PER_DAY


def oldest_hour(watermark_ms: int, hours: int) -> int:
    """Start of the oldest of the last ``hours`` hours, the watermark's hour included."""
    return hour_start(watermark_ms) - (hours - 1) * SECONDS_PER_HOUR


def oldest_day(watermark_ms: int, days: int) -> int:
    """Start of the oldest of the last ``days`` days, the watermark's day included."""
    return day_start(watermark_ms) - (days - 1) * SECONDS_PER_DAY


def hour_kept(at_ms: int, now_ms: int, hours: int) -> bool:
    """Whether every tenant still holds its bucket for the hour of ``at_ms``: each keeps the
    ``hours`` before its own watermark, and no watermark is past ``now_ms``."""
    return hour_start(at_ms) >= oldest_hour(now_ms, hours)


def day_kept(at_ms: int, now_ms: int, days: int) -> bool:
    """Whether every tenant still holds its bucket for the day of ``at_ms`` (see ``hour_kept``)."""
    return day_start(at_ms) >= oldest_day(now_ms, days)


# How far ahead of this host's clock another host's may run: a window that begins within it counts as begun.
CLOCK_SKEW_MS = 60_000


def has_begun(start_seconds: int, now_ms: int) -> bool:
    """Whether a window starting at ``start_seconds`` has begun by ``now_ms`` (give or take the hosts' skew)."""
    return start_seconds * MS_PER_SECOND <= now_ms + CLOCK_SKEW_MS


def pruned(buckets: Mapping[int, Bucket], oldest: int) -> dict[int, Bucket]:
    """``buckets`` from ``oldest`` on."""
    return {key: value for key, value in buckets.items() if key >= oldest}


def bucketed(buckets: Mapping[int, Bucket], start: int, delta: Bucket, oldest: int) -> dict[int, Bucket]:
    """``buckets`` from ``oldest`` on, with ``delta`` added to the one starting at ``start``."""
    kept = {key: value for key, value in buckets.items() if key >= oldest}
    if start >= oldest:  # a fact older than the retention counts in all-time figures only
        kept[start] = kept.get(start, ZERO).plus(delta)
    return kept
