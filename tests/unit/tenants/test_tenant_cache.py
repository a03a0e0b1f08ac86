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
