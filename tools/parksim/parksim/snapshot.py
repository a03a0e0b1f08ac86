"""What the live view shows, read through the public APIs."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from park.common.v1.pagination_pb2 import PageRequest
from park.tenants.v1 import tenants_pb2

from parksim.clients import ParkClients

STATUS_NAMES = {
    tenants_pb2.TENANT_STATUS_PENDING: "pending",
    tenants_pb2.TENANT_STATUS_ACTIVE: "active",
    tenants_pb2.TENANT_STATUS_SUSPENDED: "suspended",
    tenants_pb2.TENANT_STATUS_OFFBOARDED: "offboarded",
}


@dataclass
class ParkSnapshot:
    """The park at one moment: tenants by sub-park and status, and the sub-parks' fee rates."""

    sub_park_names: dict[str, str] = field(default_factory=dict)
    trade_fee_bps: dict[str, int] = field(default_factory=dict)
    tenants_by_sub_park: dict[str, Counter] = field(default_factory=dict)

    @property
    def tenant_count(self) -> int:
        """Every tenant the park has registered."""
        return sum(sum(counts.values()) for counts in self.tenants_by_sub_park.values())


async def take_snapshot(clients: ParkClients) -> ParkSnapshot:
    """Read the sub-parks and every tenant (paged) from the tenants service."""
    stub = clients.tenants()
    snapshot = ParkSnapshot()
    for sub_park in (await stub.ListSubParks(tenants_pb2.ListSubParksRequest())).sub_parks:
        snapshot.sub_park_names[sub_park.sub_park_id] = sub_park.name
        snapshot.trade_fee_bps[sub_park.sub_park_id] = sub_park.trade_fee_bps
        snapshot.tenants_by_sub_park[sub_park.sub_park_id] = Counter()
    page_token = ""
    while True:
        response = await stub.ListTenants(tenants_pb2.ListTenantsRequest(
            page=PageRequest(page_size=500, page_token=page_token)))
        for tenant in response.tenants:
            counts = snapshot.tenants_by_sub_park.setdefault(tenant.sub_park_id, Counter())
            counts[STATUS_NAMES.get(tenant.status, "unknown")] += 1
        page_token = response.page.next_page_token
        if not page_token:
            return snapshot
