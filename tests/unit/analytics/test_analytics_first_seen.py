"""Forgetting old fact ids: which ids go, in what order, and which never go early."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.analytics.fact_memory import FirstSeenIndex
from services.analytics.settings import AnalyticsSettings
from services.analytics.topics import trades_record_lifetime_ms


def test_ids_seen_before_the_horizon_go_oldest_first_and_only_from_their_partition() -> None:
    index = FirstSeenIndex()
    index.remember(0, "f1", 1_000)
    index.remember(0, "f2", 2_000)
    index.remember(1, "g1", 500)
    index.remember(0, "f3", 3_000)

    assert index.pop_expired(0, before_ms=2_500, limit=10) == ["f1", "f2"]
    assert index.pop_expired(0, before_ms=2_500, limit=10) == []
    assert index.count(0) == 1 and index.count(1) == 1 and index.count() == 2


def test_the_limit_bounds_one_call_and_the_rest_goes_in_the_next() -> None:
    index = FirstSeenIndex()
    for number in range(5):
        index.remember(3, f"f{number}", number)
    assert index.pop_expired(3, before_ms=100, limit=2) == ["f0", "f1"]
    assert index.pop_expired(3, before_ms=100, limit=10) == ["f2", "f3", "f4"]


def test_an_id_seen_again_is_kept_from_its_latest_time_and_a_deleted_id_is_not_returned() -> None:
    index = FirstSeenIndex()
    index.remember(0, "f1", 1_000)
    index.remember(0, "f2", 1_500)
    index.remember(0, "f1", 5_000)  # recovered again from a later changelog record
    index.forget(0, "f2")  # its tombstone was read
    assert index.pop_expired(0, before_ms=4_000, limit=10) == []
    assert index.pop_expired(0, before_ms=6_000, limit=10) == ["f1"]


def test_a_later_entry_with_an_earlier_time_waits_for_the_one_before_it() -> None:
    # another worker's clock a little behind: forgetting may come late, never early
    index = FirstSeenIndex()
    index.remember(0, "f1", 2_000)
    index.remember(0, "f2", 1_000)
    assert index.pop_expired(0, before_ms=1_500, limit=10) == []
    assert index.pop_expired(0, before_ms=2_500, limit=10) == ["f1", "f2"]


def test_partitions_no_longer_owned_are_dropped() -> None:
    index = FirstSeenIndex()
    index.remember(0, "f1", 1)
    index.remember(1, "g1", 1)
    assert index.keep_only({1}) == ["f1"]
    assert index.count(0) == 0 and index.pop_expired(1, before_ms=10, limit=10) == ["g1"]


@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 30), st.integers(0, 1_000)), max_size=60),
       st.integers(0, 1_000))
def test_nothing_inside_the_horizon_is_ever_forgotten(entries: list[tuple[int, int, int]], before_ms: int) -> None:
    index = FirstSeenIndex()
    latest: dict[tuple[int, str], int] = {}
    for partition, number, seen_at_ms in entries:
        index.remember(partition, f"f{number}", seen_at_ms)
        latest[(partition, f"f{number}")] = seen_at_ms
    for partition in range(3):
        for fact_id in index.pop_expired(partition, before_ms, limit=1_000):
            assert latest.pop((partition, fact_id)) < before_ms
    remaining = sum(index.count(partition) for partition in range(3))
    assert remaining == len(latest)


def test_by_default_an_id_outlives_every_trades_record_that_could_bring_it_back() -> None:
    settings = AnalyticsSettings()
    # 30 days of retention, and a segment rolls after 7: a record can be read for 37 days
    assert trades_record_lifetime_ms(settings) == 37 * 24 * 3600 * 1000
    assert settings.fact_ids_kept_seconds * 1000 > trades_record_lifetime_ms(settings)
