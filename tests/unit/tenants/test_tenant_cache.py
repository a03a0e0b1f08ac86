"""The GetTenant cache: freshness, versions, bounds, and the events that feed it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from park.tenants.v1 import events_pb2
from parkos.auth import RevocationList
from parkos.events import build_envelope

from services.tenants.domain import Contact, Tenant, TenantStatus
from services.tenants.handlers import apply_record
from services.tenants.mapping import tenant_to_proto
from services.tenants.tenant_cache import TenantCache

NOW = datetime(2025, 3, 14, 9, 30, 0, 123000, tzinfo=UTC)
TENANT = Tenant("ten_1", "Taiyuan Data Ltd.", "914403001922038216", "sp-energy", "sec-digital-energy",
                (Contact("Li", email="li@example.cn"),), "", TenantStatus.PENDING, NOW, NOW)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_after_the_ttl() -> None:
    clock = Clock()
    cache = TenantCache(ttl=5, clock=clock)
    cache.put(TENANT)
    clock.now += 5
    assert cache.get("ten_1") == TENANT
    clock.now += 0.1
    assert cache.get("ten_1") is None


def test_an_older_version_never_replaces_a_newer_one() -> None:
    cache = TenantCache(ttl=5)
    newer = replace(TENANT, status=TenantStatus.ACTIVE, version=2)
    cache.put(newer)
    cache.put(TENANT)
    assert cache.get("ten_1") == newer


def test_the_cache_is_bounded_and_can_be_off() -> None:
    cache = TenantCache(ttl=5, max_entries=2)
    for number in range(3):
        cache.put(replace(TENANT, tenant_id=f"ten_{number}"))
    assert len(cache) == 2 and cache.get("ten_0") is None
    off = TenantCache(ttl=0)
    off.put(TENANT)
    assert off.get("ten_1") is None


def test_tenant_events_refresh_the_cache() -> None:
    cache, revocations = TenantCache(ttl=5), RevocationList()
    active = replace(TENANT, status=TenantStatus.ACTIVE, version=2)
    event = events_pb2.TenantStatusChanged(tenant=tenant_to_proto(active))
    apply_record(build_envelope(event, producer="tenants", aggregate_id="ten_1").SerializeToString(),
                 revocations=revocations, cache=cache)
    assert cache.get("ten_1") == active


def test_a_replayed_event_is_only_as_fresh_as_it_is_old() -> None:
    # a replica re-reading the topic at start must not serve a week-old snapshot as current:
    # a newer version may be committed and not yet published
    clock = Clock()
    cache, revocations = TenantCache(ttl=5, clock=clock), RevocationList()
    active = replace(TENANT, status=TenantStatus.ACTIVE, version=2)
    event = events_pb2.TenantStatusChanged(tenant=tenant_to_proto(active))
    occurred = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
    record = build_envelope(event, producer="tenants", aggregate_id="ten_1", occurred_at=occurred).SerializeToString()
    apply_record(record, revocations=revocations, cache=cache, wall_clock=lambda: occurred.timestamp() + 3.0)
    assert cache.get("ten_1") == active  # 3 s old: 2 s of the ttl left
    clock.now += 2.5
    assert cache.get("ten_1") is None
    apply_record(record, revocations=revocations, cache=cache, wall_clock=lambda: occurred.timestamp() + 86_400)
    assert cache.get("ten_1") is None  # a day old: known, but read again before it is served


# --- keeping read tenants warm (TenantCacheRefresher) ---------------------------------

from services.tenants.tenant_cache import TenantCacheRefresher  # noqa: E402


class Store:
    """Stored tenants; counts what the refresher asks for."""

    def __init__(self, *tenants: Tenant) -> None:
        self.tenants = {tenant.tenant_id: tenant for tenant in tenants}
        self.version_reads: list[list[str]] = []
        self.tenant_reads: list[list[str]] = []

    async def versions(self, ids: list[str]) -> dict[str, int]:
        self.version_reads.append(list(ids))
        return {i: self.tenants[i].version for i in ids if i in self.tenants}

    async def read(self, ids: list[str]) -> list[Tenant]:
        self.tenant_reads.append(list(ids))
        return [self.tenants[i] for i in ids if i in self.tenants]


async def test_a_tenant_callers_keep_reading_never_expires_while_the_store_answers() -> None:
    clock, store = Clock(), Store(TENANT)
    cache = TenantCache(ttl=5, clock=clock)
    refresher = TenantCacheRefresher(cache, store.versions, store.read)
    cache.put(TENANT, read=True)
    for _ in range(20):  # 25 s: five times the ttl
        clock.now += 1.25
        assert cache.get("ten_1") == TENANT
        await refresher.refresh_once()
    assert store.version_reads and not store.tenant_reads  # versions only: nothing changed
    assert cache.misses == 0


async def test_a_refresh_reads_a_changed_tenant_whole_and_drops_a_vanished_one() -> None:
    clock = Clock()
    other = replace(TENANT, tenant_id="ten_2")
    store = Store(TENANT, other)
    cache = TenantCache(ttl=5, clock=clock)
    refresher = TenantCacheRefresher(cache, store.versions, store.read)
    cache.put(TENANT, read=True)
    cache.put(other, read=True)
    newer = replace(TENANT, status=TenantStatus.ACTIVE, version=2)
    store.tenants["ten_1"] = newer
    del store.tenants["ten_2"]
    clock.now += 3
    assert await refresher.refresh_once() == 2
    assert store.tenant_reads == [["ten_1"]]
    assert cache.get("ten_1") == newer
    assert cache.get("ten_2") is None  # the next GetTenant asks the database


async def test_only_recently_read_entries_are_refreshed_and_freshness_is_the_reads_start() -> None:
    clock, store = Clock(), Store(TENANT, replace(TENANT, tenant_id="ten_2"))
    cache = TenantCache(ttl=5, clock=clock)
    refresher = TenantCacheRefresher(cache, store.versions, store.read, read_within=10)
    cache.put(TENANT, read=True)
    cache.put(replace(TENANT, tenant_id="ten_2"))  # put by an event, never read here
    clock.now += 2
    assert await refresher.refresh_once() == 0  # nothing is half way to its ttl yet
    clock.now += 1
    assert await refresher.refresh_once() == 1 and store.version_reads == [["ten_1"]]
    clock.now += 4.5  # 7.5 s after the put, 4.5 s after the refresh started
    assert cache.get("ten_1") == TENANT and cache.get("ten_2") is None
    clock.now += 11  # nobody read ten_1 for longer than read_within: it is left to expire
    assert await refresher.refresh_once() == 0


async def test_a_slow_refresh_never_replaces_a_newer_version_nor_extends_an_old_read() -> None:
    clock = Clock()
    newer = replace(TENANT, status=TenantStatus.ACTIVE, version=2)
    cache = TenantCache(ttl=5, clock=clock)
    cache.put(TENANT, read=True)
    started = clock.now
    clock.now += 3
    cache.put(newer)  # committed on this replica while the refresh was in flight
    assert cache.confirm({"ten_1": 1}, fresh_at=started) == []
    assert cache.get("ten_1") == newer
    cache.put(TENANT, fresh_at=started)
    assert cache.get("ten_1") == newer


def test_a_database_read_counts_from_its_start() -> None:
    clock = Clock()
    cache = TenantCache(ttl=5, clock=clock)
    read_started = clock.now
    clock.now += 1  # the read took a second
    cache.put(TENANT, fresh_at=read_started, read=True)
    clock.now += 4.05
    assert cache.get("ten_1") is None
