"""The park's clock: now, in UTC, at the millisecond precision MongoDB keeps.

A datetime read back from MongoDB has lost its microseconds; truncating every "now" the same
way when it is taken keeps a value equal to itself after a round trip through the store.
Services take a ``Clock`` as a dependency so tests can set the time.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def to_stored_precision(moment: datetime) -> datetime:
    """``moment`` truncated to the millisecond, as MongoDB stores it."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def park_clock() -> datetime:
    """Now, in UTC, truncated to the millisecond."""
    return to_stored_precision(datetime.now(UTC))
