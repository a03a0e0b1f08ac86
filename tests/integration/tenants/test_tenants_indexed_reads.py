"""The tenants store reads a tenant's revenue reports and credentials through indexes, not by
scanning the collections of the whole park (which the park's store would do for every call).

The plan of a read does not depend on what it finds, so the reads here ask for a tenant with
no documents among other tenants' documents.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from pymongo import AsyncMongoClient

from services.tenants.revenue import Period
from services.tenants.lists import CredentialQuery, RevenueQuery, TenantQuery
from services.tenants.store import TenantsStore, Transaction
from tests.support.query_plans import FindRecorder, collection_scans

pytestmark = pytest.mark.infra

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ASKED = "ten_asked"


@pytest.fixture(scope="module")
async def recorded_store(infra) -> AsyncIterator[tuple[TenantsStore, AsyncMongoClient, FindRecorder]]:  # type: ignore[no-untyped-def]
    recorder = FindRecorder()
    client: AsyncMongoClient = AsyncMongoClient(infra.mongo_uri, tz_aware=True, event_listeners=[recorder])
    store = TenantsStore(client, infra.unique_name("tenants_plans"))
    await store.ensure_indexes()
    others = [f"ten_{number:04d}" for number in range(200)]
    await store.db["credentials"].insert_many(
        [{"_id": f"crd_{tenant}", "tenant_id": tenant, "role": "tenant", "revoked_at": None, "expires_at": NOW}
         for tenant in others])
    await store.db["revenue_reports"].insert_many(
        [{"_id": f"rev_{tenant}_{month}", "tenant_id": tenant, "period": f"2026-{month:02d}", "version": 1,
          "current": True} for tenant in others for month in (1, 2)])
    recorder.take()
    try:
        yield store, client, recorder
    finally:
        await client.close()


async def test_a_tenants_revenue_reports_and_credentials_are_read_through_indexes(recorded_store) -> None:  # type: ignore[no-untyped-def]
    store, client, recorder = recorded_store

    async def report_path(tx: Transaction) -> None:  # what ReportRevenue and credential changes read
        await tx.current_revenue(ASKED, Period.parse("2026-01", now=NOW))
        await tx.active_credentials_of(ASKED)

    await store.transaction(report_path, correlation_id=None)
    for after, position in ((None, None), ("rev_zzz", "2026-01/1")):
        await store.list_revenue(RevenueQuery(tenant_id=ASKED), after=position, limit=20)
        # after a position: the rest of its period, then the later periods
        await store.list_revenue(RevenueQuery(tenant_id=ASKED, include_superseded=True), after=position, limit=20)
        await store.list_credentials(CredentialQuery(tenant_id=ASKED), after=after, limit=20)
        await store.list_credentials(CredentialQuery(tenant_id=ASKED, include_revoked=True), after=after, limit=20)
        await store.list_tenants(TenantQuery(sub_park_id="sp-energy"), after=after, limit=20)
        await store.list_tenants(TenantQuery(sector_id="sec-data-services"), after=after, limit=20)

    finds = recorder.take()
    assert len(finds) == 15
    assert await collection_scans(client, finds) == []
