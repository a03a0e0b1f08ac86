"""Traffic on the data exchange: sellers list, administrators review, buyers order, pools fill."""
from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from park.common.v1.money_pb2 import Money
from park.trades.v1 import events_pb2, trades_pb2

from parksim.activity import ActivityLog
from parksim.money_text import yuan_rounded
from parksim.clients import ParkClients
from parksim.products import invent_product
from parksim.tenant_tokens import TenantTokens

_TIERS = [events_pb2.VolumeTier(min_buyers=1, discount_bps=0), events_pb2.VolumeTier(min_buyers=3, discount_bps=2000),
          events_pb2.VolumeTier(min_buyers=6, discount_bps=3500)]


class ExchangeTotals:
    """What the simulator's own orders settled (the analytics service has the park's totals)."""

    def __init__(self) -> None:
        self.orders = 0
        self.gross_minor = 0
        self.fee_minor = 0
        self.refunds = 0


class TradesTraffic:
    """One step at a time, chosen the way a real exchange's day mixes them."""

    def __init__(self, clients: ParkClients, tokens: TenantTokens, active_tenant_ids: list[str],
                 activity: ActivityLog, rng: random.Random, name_of: Callable[[str], str]) -> None:
        self._clients = clients
        self._admin = clients.trades()
        self._tokens = tokens
        self._tenant_ids = active_tenant_ids  # shared with the tenants traffic: grows as tenants join
        self._activity = activity
        self._rng = rng
        self._name_of = name_of  # a tenant's name in the activity feed
        self._orderable: list[tuple[str, str]] = []  # (product_id, seller_tenant_id)
        self._open_pools: list[tuple[str, str, datetime]] = []  # (pool_id, seller, closes_at)
        self._settled_orders: list[str] = []
        self.totals = ExchangeTotals()

    async def step(self) -> None:
        """List a product, order one, join or open a pool, or (rarely) refund."""
        roll = self._rng.random()
        if len(self._tenant_ids) < 3:
            return
        if roll < 0.25 or len(self._orderable) < 3:
            await self.list_and_review()
        elif roll < 0.80:
            await self.place_order()
        elif roll < 0.95:
            await self.join_or_open_pool()
        elif self._settled_orders:
            await self.refund(self._rng.choice(self._settled_orders))

    async def list_and_review(self) -> None:
        """A seller lists a product; an administrator reviews it (most pass)."""
        seller = self._rng.choice(self._tenant_ids)
        idea = invent_product(self._rng)
        stub = self._clients.trades(await self._tokens.token_of(seller))
        product = await stub.ListProduct(trades_pb2.ListProductRequest(
            title=idea.title, description=idea.description,
            delivery=events_pb2.DELIVERY_DATA_API if idea.api else events_pb2.DELIVERY_DATASET,
            price=Money(amount_minor=idea.price_minor, currency="CNY"),
            license=trades_pb2.LicenseTerms(duration_days=365, permitted_uses=[
                trades_pb2.PERMITTED_USE_INTERNAL_ANALYTICS, trades_pb2.PERMITTED_USE_MODEL_TRAINING]),
            classification_level=idea.classification_level,
            contains_personal_information=idea.personal_information,
            quality_statement="Completeness above 99%, refreshed on schedule, lineage documented."))
        sensitive = idea.classification_level == 4 or idea.personal_information
        if self._rng.random() < 0.9:
            await self._admin.ReviewProduct(trades_pb2.ReviewProductRequest(
                product_id=product.product_id, decision=trades_pb2.REVIEW_DECISION_APPROVE,
                security_assessment_ref=f"SA-{self._rng.randrange(10000, 99999)}" if sensitive else ""))
            self._orderable.append((product.product_id, seller))
            self._activity.record("listed", f"approved '{idea.title}' at {yuan_rounded(idea.price_minor)} CNY")
        else:
            await self._admin.ReviewProduct(trades_pb2.ReviewProductRequest(
                product_id=product.product_id, decision=trades_pb2.REVIEW_DECISION_REJECT,
                reasons=["quality statement not substantiated"]))
            self._activity.record("rejected", f"rejected '{idea.title}'")

    async def place_order(self) -> None:
        """A buyer orders a product of another tenant; it settles at once."""
        product_id, seller = self._rng.choice(self._orderable)
        buyer = self._other_tenant(seller)
        stub = self._clients.trades(await self._tokens.token_of(buyer))
        order = await stub.PlaceOrder(trades_pb2.PlaceOrderRequest(
            idempotency_key=str(uuid.uuid4()), product_id=product_id))
        self._count_settlement(order)
        self._activity.record("order", f"{self._name_of(buyer)} bought {order.product_title[:40]} for "
                                       f"{yuan_rounded(order.settlement.gross.amount_minor)} CNY")

    async def join_or_open_pool(self) -> None:
        """Buyers join an open demand pool, or a seller opens one that closes in half a minute."""
        now = datetime.now(UTC)
        self._open_pools = [pool for pool in self._open_pools if pool[2] > now + timedelta(seconds=2)]
        if not self._open_pools:
            product_id, seller = self._rng.choice(self._orderable)
            closes_at = now + timedelta(seconds=30)
            stub = self._clients.trades(await self._tokens.token_of(seller))
            pool = await stub.OpenPool(trades_pb2.OpenPoolRequest(
                product_id=product_id, tiers=_TIERS, closes_at=_timestamp(closes_at)))
            self._open_pools.append((pool.pool_id, seller, closes_at))
            self._activity.record("pool", f"{self._name_of(seller)} opened a demand pool closing {closes_at:%H:%M:%S}")
            return
        pool_id, seller, _ = self._rng.choice(self._open_pools)
        buyer = self._other_tenant(seller)
        stub = self._clients.trades(await self._tokens.token_of(buyer))
        try:
            await stub.JoinPool(trades_pb2.JoinPoolRequest(idempotency_key=str(uuid.uuid4()), pool_id=pool_id))
        except grpc.aio.AioRpcError as error:
            if error.code() not in (grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.FAILED_PRECONDITION):
                raise
            return
        self._activity.record("pool", f"{self._name_of(buyer)} joined pool {pool_id}")

    async def refund(self, order_id: str) -> None:
        """An administrator refunds a disputed order."""
        self._settled_orders.remove(order_id)
        order = await self._admin.RefundOrder(trades_pb2.RefundOrderRequest(
            order_id=order_id, reason="buyer dispute upheld"))
        self.totals.refunds += 1
        self.totals.gross_minor -= order.refund.gross.amount_minor
        self.totals.fee_minor -= order.refund.fee.amount_minor
        self._activity.record("refund", f"refunded {order_id} ({yuan_rounded(order.refund.gross.amount_minor)} CNY)")

    def _count_settlement(self, order: trades_pb2.Order) -> None:
        self.totals.orders += 1
        self.totals.gross_minor += order.settlement.gross.amount_minor
        self.totals.fee_minor += order.settlement.fee.amount_minor
        self._settled_orders.append(order.order_id)

    def _other_tenant(self, seller: str) -> str:
        while True:
            buyer = self._rng.choice(self._tenant_ids)
            if buyer != seller:
                return buyer


def _timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp
