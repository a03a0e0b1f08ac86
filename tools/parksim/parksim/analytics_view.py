"""Live figures from the analytics service: revenue by sub-park, top tenants, multiplier, valuations."""
from __future__ import annotations

import asyncio

import grpc
from park.analytics.v1 import analytics_pb2, analytics_pb2_grpc
from rich.table import Table

from parksim.money_text import yuan_rounded


class LiveFigures:
    """Follows StreamParkMetrics (every change pushed) and asks GetParkRevenue per sub-park."""

    def __init__(self, stub: analytics_pb2_grpc.AnalyticsServiceStub) -> None:
        self._stub = stub
        self.park: analytics_pb2.RevenueFigures | None = None
        self.tenants: dict[str, analytics_pb2.TenantSummary] = {}
        self.sub_parks: dict[str, analytics_pb2.RevenueFigures] = {}
        self.updates = 0

    async def follow(self) -> None:
        """Apply every pushed update until cancelled; reconnect when the stream drops."""
        while True:
            try:
                stream = self._stub.StreamParkMetrics(analytics_pb2.StreamParkMetricsRequest(include_park=True))
                async for update in stream:
                    self._apply(update)
            except grpc.aio.AioRpcError:
                await asyncio.sleep(1.0)

    async def refresh_sub_parks(self, sub_park_ids: list[str]) -> None:
        """All-time figures of each sub-park, as an administrator's dashboard asks for them."""
        for sub_park_id in sub_park_ids:
            response = await self._stub.GetParkRevenue(analytics_pb2.GetParkRevenueRequest(
                dimension=analytics_pb2.DIMENSION_SUB_PARK, key=sub_park_id, window=analytics_pb2.WINDOW_ALL_TIME))
            self.sub_parks[sub_park_id] = response.figures

    def _apply(self, update: analytics_pb2.ParkMetricsUpdate) -> None:
        self.updates += 1
        if update.HasField("park"):
            self.park = update.park
        if update.HasField("tenant") and update.tenant.tenant_id:
            self.tenants[update.tenant.tenant_id] = update.tenant


def revenue_table(figures: LiveFigures, names: dict[str, str]) -> Table:
    """Revenue, data sales, park fees, data spend and the data multiplier per sub-park."""
    park = figures.park
    multiplier = park.data_multiplier.decimal if park and park.data_multiplier.denominator else "-"
    table = Table(title=f"Park revenue by sub-park, live (park data multiplier {multiplier})", expand=True)
    for column in ("sub-park", "revenue", "data sales (net)", "park fees", "data spend", "multiplier"):
        table.add_column(column, justify="left" if column == "sub-park" else "right")
    for sub_park_id, row in figures.sub_parks.items():
        table.add_row(names.get(sub_park_id, sub_park_id), *_money_columns(row))
    if park is not None:
        table.add_row("[b]whole park[/b]", *_money_columns(park))
    return table


def top_tenants_table(figures: LiveFigures, limit: int = 8) -> Table:
    """The tenants with the most revenue, with their data-asset valuation."""
    table = Table(title=f"Top tenants ({figures.updates:,} live updates received)", expand=True)
    for column in ("tenant", "revenue", "data sales (net)", "distinct buyers", "data-asset value", "credit line"):
        table.add_column(column, justify="left" if column == "tenant" else "right")
    ranked = sorted(figures.tenants.values(), key=lambda t: t.all_time.revenue.amount_minor, reverse=True)
    for tenant in ranked[:limit]:
        table.add_row(
            tenant.legal_name or tenant.tenant_id, yuan_rounded(tenant.all_time.revenue.amount_minor),
            yuan_rounded(tenant.all_time.data_sales_net.amount_minor), str(tenant.distinct_buyers),
            yuan_rounded(tenant.valuation.valuation.amount_minor),
            yuan_rounded(tenant.valuation.credit_line_hint.amount_minor),
        )
    return table


def _money_columns(row: analytics_pb2.RevenueFigures) -> list[str]:
    multiplier = row.data_multiplier.decimal if row.data_multiplier.denominator else "-"
    return [yuan_rounded(row.revenue.amount_minor), yuan_rounded(row.data_sales_net.amount_minor),
            yuan_rounded(row.park_fees.amount_minor), yuan_rounded(row.data_spend.amount_minor), multiplier]
