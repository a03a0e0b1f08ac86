"""The park's clock keeps what MongoDB keeps: a "now" survives a round trip through the store unchanged."""
from __future__ import annotations

from datetime import UTC, datetime

from parkos.clock import park_clock, to_stored_precision


def test_now_is_utc_and_whole_milliseconds() -> None:
    now = park_clock()
    assert now.tzinfo is UTC
    assert now.microsecond % 1000 == 0


def test_stored_precision_truncates_never_rounds_up() -> None:
    moment = datetime(2026, 11, 22, 23, 59, 59, 999_999, tzinfo=UTC)
    assert to_stored_precision(moment) == datetime(2026, 11, 22, 23, 59, 59, 999_000, tzinfo=UTC)
