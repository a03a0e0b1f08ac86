"""Traffic on the tenants service: enterprises join the park, become active, declare revenue."""
from __future__ import annotations

import random
from datetime import date

import grpc
from park.common.v1.money_pb2 import Money
from park.common.v1.pagination_pb2 import PageRequest
from park.tenants.v1 import tenants_pb2

from parksim.activity import ActivityLog
from parksim.money_text import yuan_rounded
from parksim.clients import ParkClients
from parksim.enterprises import invent_enterprise, monthly_revenue_minor


def previous_month(today: date) -> str:
    """"YYYY-MM" of the month before `today`: the latest a tenant can fully declare."""
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


class TenantsTraffic:
    """One step at a time: register, activate, declare revenue, and now and then a suspension."""

    def __init__(self, clients: ParkClients, activity: ActivityLog, rng: random.Random) -> None:
        self._tenants = clients.tenants()
        self._activity = activity
        self._rng = rng
        self._sub_parks: list[str] = []
        self._sub_park_names: dict[str, str] = {}
        self._sectors: list[str] = []
        self.active_tenant_ids: list[str] = []
        self._names: dict[str, str] = {}  # tenant id -> legal name, for the activity feed

    def name_of(self, tenant_id: str) -> str:
        """The tenant's legal name as the simulator knows it (its id for one it never saw)."""
        return self._names.get(tenant_id, tenant_id)

    async def prepare(self) -> None:
        """Read the park's reference data and the tenants already active (a restarted simulator)."""
        sub_parks = await self._tenants.ListSubParks(tenants_pb2.ListSubParksRequest())
        sectors = await self._tenants.ListSectors(tenants_pb2.ListSectorsRequest())
        self._sub_parks = [sub_park.sub_park_id for sub_park in sub_parks.sub_parks]
        self._sub_park_names = {sub_park.sub_park_id: sub_park.name for sub_park in sub_parks.sub_parks}
        self._sectors = [sector.sector_id for sector in sectors.sectors]
        self.active_tenant_ids = await self._active_tenants()

    async def step(self) -> None:
        """One action, chosen the way a real park's day mixes them."""
        roll = self._rng.random()
        if roll < 0.5 or len(self.active_tenant_ids) < 5:
            await self.register_and_activate()
        elif roll < 0.9:
            await self.declare_revenue(self._rng.choice(self.active_tenant_ids))
        else:
            await self.suspend_and_reinstate(self._rng.choice(self.active_tenant_ids))

    async def register_and_activate(self) -> str:
        """An administrator registers a new enterprise and activates it."""
        enterprise = invent_enterprise(self._rng, self._sub_parks, self._sectors)
        tenant = await self._tenants.RegisterTenant(tenants_pb2.RegisterTenantRequest(
            legal_name=enterprise.legal_name, credit_code=enterprise.credit_code,
            sub_park_id=enterprise.sub_park_id, sector_id=enterprise.sector_id,
            description=enterprise.description,
            contacts=[tenants_pb2.Contact(name=enterprise.contact_name, title="legal representative",
                                          email=enterprise.contact_email, phone=enterprise.contact_phone)],
        ))
        await self._tenants.ChangeStatus(tenants_pb2.ChangeStatusRequest(
            tenant_id=tenant.tenant_id, status=tenants_pb2.TENANT_STATUS_ACTIVE))
        self.active_tenant_ids.append(tenant.tenant_id)
        self._names[tenant.tenant_id] = enterprise.legal_name
        self._activity.record("registered", f"registered {enterprise.legal_name} in "
                                            f"{self._sub_park_names.get(enterprise.sub_park_id, enterprise.sub_park_id)}")
        return tenant.tenant_id

    async def declare_revenue(self, tenant_id: str) -> None:
        """A tenant's finance team declares (or corrects) last month's operating revenue."""
        amount = monthly_revenue_minor(self._rng)
        period = previous_month(date.today())
        report = await self._tenants.ReportRevenue(tenants_pb2.ReportRevenueRequest(
            tenant_id=tenant_id, period=period, revenue=Money(amount_minor=amount, currency="CNY")))
        verb = "declared" if report.version == 1 else f"corrected (v{report.version})"
        self._activity.record("revenue", f"{self.name_of(tenant_id)} {verb} {period}: {yuan_rounded(amount)} CNY")

    async def suspend_and_reinstate(self, tenant_id: str) -> None:
        """A compliance hold: suspended, then active again."""
        try:
            await self._tenants.ChangeStatus(tenants_pb2.ChangeStatusRequest(
                tenant_id=tenant_id, status=tenants_pb2.TENANT_STATUS_SUSPENDED, reason="compliance spot check"))
            await self._tenants.ChangeStatus(tenants_pb2.ChangeStatusRequest(
                tenant_id=tenant_id, status=tenants_pb2.TENANT_STATUS_ACTIVE))
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.FAILED_PRECONDITION:
                raise
        self._activity.record("spot-check", f"{self.name_of(tenant_id)} suspended for a spot check and reinstated")

    async def _active_tenants(self) -> list[str]:
        tenant_ids: list[str] = []
        page_token = ""
        while True:
            response = await self._tenants.ListTenants(tenants_pb2.ListTenantsRequest(
                status=tenants_pb2.TENANT_STATUS_ACTIVE, page=PageRequest(page_size=500, page_token=page_token)))
            tenant_ids += [tenant.tenant_id for tenant in response.tenants]
            self._names.update((tenant.tenant_id, tenant.legal_name) for tenant in response.tenants)
            page_token = response.page.next_page_token
            if not page_token:
                return tenant_ids
