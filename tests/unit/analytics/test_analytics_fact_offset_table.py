"""The fact-offsets table's own bookkeeping, on Faust's real table and in-memory store (no broker).

Changelog batches are fed as Faust's recovery feeds them; the producer is replaced by one that
records what would be sent.
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP

from services.analytics.app import build_worker_app
from services.analytics.settings import AnalyticsSettings
from services.analytics.tables import FactOffsetTable

DAY_MS = 24 * 3600 * 1000
NOW_MS = int(time.time() * 1000)  # forgetting never runs ahead of the worker's clock


class SentRecords:
    """Stands in for the app's producer: keeps (topic, key, value, partition)."""

    def __init__(self) -> None:
        self.records: list[tuple[str, bytes, bytes | None, int]] = []

    async def send(self, topic: str, key: bytes, value: bytes | None, partition: int, *_: Any) -> None:
        self.records.append((topic, key, value, partition))


@pytest.fixture
def table() -> FactOffsetTable:
    worker = build_worker_app(AnalyticsSettings(fact_ids_kept_seconds=DAY_MS // 1000))
    worker.app.producer = SentRecords()
    return worker.tables.fact_offsets


def changelog_event(key: str, offset: int | None, partition: int, at_ms: int) -> SimpleNamespace:
    raw = None if offset is None else str(offset).encode()
    message = SimpleNamespace(partition=partition, value=raw, timestamp=at_ms / 1000)
    return SimpleNamespace(key=key, value=offset, message=message)


def test_an_id_first_seen_again_at_offset_0_survives_its_tombstone_in_the_same_batch(table) -> None:
    table.apply_changelog_batch([
        changelog_event("f1", 0, 2, NOW_MS), changelog_event("f1", None, 2, NOW_MS + 1),
        changelog_event("f1", 0, 2, NOW_MS + 2), changelog_event("f2", 5, 2, NOW_MS),
        changelog_event("f2", None, 2, NOW_MS + 1),
    ])
    assert table.data.get("f1") == 0 and "f2" not in table.data
    assert table.first_seen.count(2) == 1


async def test_old_ids_are_deleted_with_a_tombstone_to_their_partition_and_recent_ones_stay(table) -> None:
    table.apply_changelog_batch([changelog_event("old", 1, 3, NOW_MS - 2 * DAY_MS),
                                 changelog_event("recent", 2, 3, NOW_MS - DAY_MS // 2)])
    assert await table.forget_expired(3, NOW_MS / 1000) == 1
    assert "old" not in table.data and table.data.get("recent") == 2
    topic = table.changelog_topic.get_topic_name()
    assert table.app.producer.records == [(topic, b"old", None, 3)]
    assert await table.forget_expired(3, NOW_MS / 1000) == 0


async def test_a_fact_stamped_ahead_of_the_clock_or_unstamped_forgets_nothing_early(table) -> None:
    table.apply_changelog_batch([changelog_event("recent", 2, 3, NOW_MS - DAY_MS // 2)])
    assert await table.forget_expired(3, (NOW_MS + 30 * DAY_MS) / 1000) == 0  # a splitting host's fast clock
    assert await table.forget_expired(3, None) == 0
    assert await table.forget_expired(3, -0.001) == 0
    assert table.data.get("recent") == 2


async def test_ids_of_a_partition_this_worker_lost_leave_its_memory(table) -> None:
    table.apply_changelog_batch([changelog_event("recovered", 1, 0, NOW_MS)])
    await table.put("written", 7, 1)
    await table.put("kept", 8, 4)
    topic = table.changelog_topic.get_topic_name()
    await table.on_recovery_completed({TP(topic, 4)}, set())
    assert set(table.data.keys()) == {"kept"}
    assert table.first_seen.count() == 1


def test_a_record_without_a_real_timestamp_counts_as_seen_now(table) -> None:
    event = changelog_event("f1", 1, 0, NOW_MS)
    event.message.timestamp = -0.001  # what Faust makes of a record without a timestamp (-1)
    table.apply_changelog_batch([event])
    a_minute_ago_ms = int(time.time() * 1000) - 60_000
    assert table.first_seen.pop_expired(0, before_ms=a_minute_ago_ms, limit=10) == []


async def test_ledgers_of_partitions_this_worker_lost_are_dropped_after_a_rebalance() -> None:
    from services.analytics.domain.ledger import TenantLedger
    from services.analytics.topics import facts_partition

    worker = build_worker_app(AnalyticsSettings())
    worker.app.producer = SentRecords()
    ledgers = worker.tables.ledgers
    tenants = [f"ten_{n}" for n in range(40)]
    for tenant in tenants:
        await ledgers.put(tenant, TenantLedger(tenant), facts_partition(tenant, ledgers.partitions))
    kept = {0, 5}
    topic = ledgers.changelog_topic.get_topic_name()
    await ledgers.on_recovery_completed({TP(topic, p) for p in kept}, set())
    assert set(ledgers.data.keys()) == {t for t in tenants if facts_partition(t, ledgers.partitions) in kept}
    assert ledgers.data.keys()  # some tenants do live in partitions 0 and 5
