"""Declared revenue (versions, bad input) and the events each change publishes via the outbox."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from park.tenants.v1 import events_pb2, tenants_pb2
from parkos.events import unpack_payload

from tests.integration.tenants.tenants_park import Park, registration, violated_fields

pytestmark = pytest.mark.infra


def report(tenant_id: str, period: str, amount_minor: int, currency: str = "CNY") -> tenants_pb2.ReportRevenueRequest:
    return tenants_pb2.ReportRevenueRequest(
        tenant_id=tenant_id, period=period, revenue={"amount_minor": amount_minor, "currency": currency}
    )


async def test_a_correction_is_a_new_version_and_all_versions_are_kept(park: Park) -> None:
    tenant = await park.register_active()
    me = park.stub((await park.tenant_token(tenant.tenant_id)).token)
    first = await me.ReportRevenue(report(tenant.tenant_id, "2025-01", 1_250_000_00))
    corrected = await me.ReportRevenue(report(tenant.tenant_id, "2025-01", 1_300_000_00))
    other_month = await me.ReportRevenue(report(tenant.tenant_id, "2025-02", 0))
    assert (first.version, corrected.version, other_month.version) == (1, 2, 1)
    assert corrected.revenue.amount_minor == 1_300_000_00 and corrected.current

    current = await me.ListRevenueReports(tenants_pb2.ListRevenueReportsRequest(tenant_id=tenant.tenant_id))
    assert [(r.period, r.version) for r in current.reports] == [("2025-01", 2), ("2025-02", 1)]
    history = await me.ListRevenueReports(tenants_pb2.ListRevenueReportsRequest(
        tenant_id=tenant.tenant_id, period="2025-01", include_superseded=True))
    assert [(r.version, r.current, r.revenue.amount_minor) for r in history.reports] == [
        (1, False, 1_250_000_00), (2, True, 1_300_000_00)]


async def test_reports_are_listed_by_period_then_version_whatever_order_they_were_filed_in(park: Park) -> None:
    tenant = await park.register_active()
    me = park.stub((await park.tenant_token(tenant.tenant_id)).token)
    for period, amount in (("2025-09", 300), ("2025-07", 100), ("2025-08", 200), ("2025-07", 110)):
        await me.ReportRevenue(report(tenant.tenant_id, period, amount))

    current = await me.ListRevenueReports(tenants_pb2.ListRevenueReportsRequest(tenant_id=tenant.tenant_id))
    assert [(r.period, r.version) for r in current.reports] == [("2025-07", 2), ("2025-08", 1), ("2025-09", 1)]
    pages, token = [], ""
    while True:
        page = await me.ListRevenueReports(tenants_pb2.ListRevenueReportsRequest(
            tenant_id=tenant.tenant_id, include_superseded=True, page={"page_size": 1, "page_token": token}))
        pages.append([(r.period, r.version) for r in page.reports])
        token = page.page.next_page_token
        if not token:
            break
    assert pages == [[("2025-07", 1)], [("2025-07", 2)], [("2025-08", 1)], [("2025-09", 1)]]
    two = await me.ListRevenueReports(tenants_pb2.ListRevenueReportsRequest(
        tenant_id=tenant.tenant_id, include_superseded=True, page={"page_size": 2}))
    rest = await me.ListRevenueReports(tenants_pb2.ListRevenueReportsRequest(
        tenant_id=tenant.tenant_id, include_superseded=True, page={"page_token": two.page.next_page_token}))
    assert [(r.period, r.version) for r in rest.reports] == [("2025-08", 1), ("2025-09", 1)]


BAD_REPORTS = [
    (("2025-13", 100, "CNY"), "period"),
    (("2025/01", 100, "CNY"), "period"),
    (("", 100, "CNY"), "period"),
    (("2999-01", 100, "CNY"), "period"),
    (("2025-01", -1, "CNY"), "revenue.amount_minor"),
    (("2025-01", 100, "USD"), "revenue.currency"),
    (("2025-01", 100, "cny"), "revenue.currency"),
    (("2025-01", 100, ""), "revenue.currency"),
]


@pytest.mark.parametrize(("values", "field"), BAD_REPORTS)
async def test_bad_reports_are_invalid_argument(park: Park, values: tuple, field: str) -> None:
    tenant = await park.register_active()
    before = await park.counts()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await park.admin.ReportRevenue(report(tenant.tenant_id, *values))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(caught.value) == {field}
    assert await park.counts() == before


async def test_a_report_without_an_amount_names_the_field(park: Park) -> None:
    tenant = await park.register_active()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await park.admin.ReportRevenue(tenants_pb2.ReportRevenueRequest(tenant_id=tenant.tenant_id, period="2025-01"))
    assert violated_fields(caught.value) == {"revenue"}


async def test_a_pending_tenant_cannot_report(park: Park) -> None:
    pending = await park.admin.RegisterTenant(registration())
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await park.admin.ReportRevenue(report(pending.tenant_id, "2025-01", 1))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_every_change_is_published_in_order_keyed_by_its_aggregate(park: Park) -> None:
    tenant = await park.register_active(sub_park_id="sp-ai", sector_id="sec-ai-model-services")
    tid = tenant.tenant_id
    await park.admin.UpdateProfile(tenants_pb2.UpdateProfileRequest(
        tenant=tenants_pb2.Tenant(tenant_id=tid, description="Vertical models for coking"),
        update_mask=FieldMask(paths=["description"])))
    await park.admin.ReportRevenue(report(tid, "2025-01", 42_00))

    tenant_events = await park.events([tid], expect=3)
    assert [e.type for e in tenant_events] == [
        "park.tenants.v1.TenantRegistered", "park.tenants.v1.TenantStatusChanged", "park.tenants.v1.TenantProfileUpdated"]
    assert all(e.tenant_id == tid and e.producer == "tenants" and e.aggregate_id == tid for e in tenant_events)
    assert len({e.event_id for e in tenant_events}) == 3
    changed = unpack_payload(tenant_events[1], events_pb2.TenantStatusChanged)
    assert (changed.from_status, changed.to_status) == (tenants_pb2.TENANT_STATUS_PENDING, tenants_pb2.TENANT_STATUS_ACTIVE)
    updated = unpack_payload(tenant_events[2], events_pb2.TenantProfileUpdated)
    assert list(updated.changed_fields) == ["description"] and updated.tenant.version == 3

    [revenue] = await park.events([f"{tid}/2025-01"], expect=1)
    reported = unpack_payload(revenue, events_pb2.RevenueReported)
    assert (reported.sub_park_id, reported.sector_id, reported.revenue.amount_minor) == ("sp-ai", "sec-ai-model-services", 42_00)
    assert revenue.tenant_id == tid


async def test_an_update_that_changes_nothing_publishes_nothing(park: Park) -> None:
    tenant = await park.register_active()
    before = await park.counts()
    same = await park.admin.UpdateProfile(tenants_pb2.UpdateProfileRequest(
        tenant=tenants_pb2.Tenant(tenant_id=tenant.tenant_id, description=tenant.description),
        update_mask=FieldMask(paths=["description"])))
    assert same.version == tenant.version
    assert await park.counts() == before
