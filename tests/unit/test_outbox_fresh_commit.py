"""When the relay's change-stream reader counts itself caught up with the writers."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from parkos.outbox.changes import FRESH_COMMIT_SECONDS, committed_just_now


def _change(wall_time):
    return {"operationType": "insert", "wallTime": wall_time}


def test_a_row_the_store_committed_just_now_is_no_backlog():
    assert committed_just_now(_change(datetime.now(UTC) - timedelta(milliseconds=20)))


def test_a_row_committed_longer_ago_than_the_fresh_window_is_backlog():
    assert not committed_just_now(_change(datetime.now(UTC) - timedelta(seconds=FRESH_COMMIT_SECONDS + 1)))


def test_a_store_clock_ahead_of_ours_counts_as_fresh():
    # skew only moves when rows are marked sent (bookkeeping), never what is published
    assert committed_just_now(_change(datetime.now(UTC) + timedelta(seconds=5)))


def test_a_change_without_a_usable_wall_time_is_never_taken_for_fresh():
    assert not committed_just_now({"operationType": "insert"})
    assert not committed_just_now(_change(datetime.now()))  # naive: the client must be tz_aware
    assert not committed_just_now(_change("2026-12-07T17:00:00Z"))
