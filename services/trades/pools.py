"""Demand pools: scattered demand turned into volume, with tiered prices.

A seller opens a pool on an approved, listed product with volume tiers (e.g. 1-4 buyers
full price, 5-9 20% off, 10+ 35% off) and a closing time; the list price is fixed when
the pool opens. Buyers join while it is open. When it closes, every member whose buyer is
still active settles at the tier reached by those members (each a TradeSettled of its own);
members who can no longer buy are cancelled. If the product can no longer be ordered or
its seller no longer sells, the whole pool is cancelled and nobody pays.

Pure Python: the store runs a close in one transaction, so a close is all-or-nothing and
a second close of the same pool finds it closed (see store.py and pool_closer.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from parkos.errors import FailedPrecondition, FieldViolation, InvalidArgument
from parkos.money import Money, apply_discount_bps

from services.trades.domain import Product
from services.trades.settlement import Order, OrderIds
from services.trades.tenant_directory import FeeRate, KnownTenant, fee_rate_of, seller_party

TIERS_MAX = 10
DISCOUNT_MAX_BPS = 9000
MIN_BUYERS_MAX = 100_000
MEMBERS_MAX = 500  # one close settles every member in one transaction: keep it bounded
CLOSES_AFTER_MIN = timedelta(seconds=1)
CLOSES_AFTER_MAX = timedelta(days=90)


class PoolStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class VolumeTier:
    """From ``min_buyers`` members on, the list price less ``discount_bps``."""

    min_buyers: int
    discount_bps: int


def tier_violations(tiers: Sequence[VolumeTier]) -> list[FieldViolation]:
    """Tiers must ascend by buyers, with discounts that never fall."""
    if not tiers:
        return [FieldViolation("tiers", "at least one tier is required")]
    if len(tiers) > TIERS_MAX:
        return [FieldViolation("tiers", f"at most {TIERS_MAX} tiers")]
    found = []
    for index, tier in enumerate(tiers):
        if not 1 <= tier.min_buyers <= MIN_BUYERS_MAX:
            found.append(FieldViolation(f"tiers[{index}].min_buyers", f"must be within 1..{MIN_BUYERS_MAX}"))
        elif index and tier.min_buyers <= tiers[index - 1].min_buyers:
            found.append(FieldViolation(f"tiers[{index}].min_buyers", "must be more than the previous tier's"))
        if not 0 <= tier.discount_bps <= DISCOUNT_MAX_BPS:
            found.append(FieldViolation(f"tiers[{index}].discount_bps", f"must be within 0..{DISCOUNT_MAX_BPS}"))
        elif index and tier.discount_bps < tiers[index - 1].discount_bps:
            found.append(FieldViolation(f"tiers[{index}].discount_bps", "must not be less than the previous tier's"))
    return found


def discount_for(tiers: Sequence[VolumeTier], members: int) -> int:
    """The discount of the highest tier ``members`` reach; 0 below the first tier."""
    reached = [tier.discount_bps for tier in tiers if members >= tier.min_buyers]
    return reached[-1] if reached else 0


@dataclass(frozen=True)
class Pool:
    """A demand pool on one product."""

    pool_id: str
    product_id: str
    seller_tenant_id: str
    list_price: Money
    tiers: tuple[VolumeTier, ...]
    closes_at: datetime
    status: PoolStatus
    members: int
    opened_at: datetime
    closed_at: datetime | None = None
    discount_bps: int = 0
    cancel_reason: str = ""
    dropped_members: int = 0
    version: int = 1

    @classmethod
    def open(
        cls, *, pool_id: str, product: Product, seller: KnownTenant | None, tiers: Sequence[VolumeTier],
        closes_at: datetime | None, now: datetime,
    ) -> tuple[Pool, PoolOpened]:
        """A new open pool; the caller has checked that the requester may act for the seller."""
        violations = tier_violations(tiers)
        if closes_at is None:
            violations.append(FieldViolation("closes_at", "is required"))
        elif not now + CLOSES_AFTER_MIN <= closes_at <= now + CLOSES_AFTER_MAX:
            violations.append(FieldViolation("closes_at", "must be between a second and 90 days from now"))
        if violations:
            raise InvalidArgument("the pool is invalid", violations)
        assert closes_at is not None
        seller_party(seller, own=True)
        product.ensure_orderable()
        pool = cls(
            pool_id=pool_id,
            product_id=product.product_id,
            seller_tenant_id=product.seller_tenant_id,
            list_price=product.price,
            tiers=tuple(tiers),
            closes_at=closes_at,
            status=PoolStatus.OPEN,
            members=0,
            opened_at=now,
        )
        return pool, PoolOpened(pool)

    @property
    def unit_price(self) -> Money:
        """The price per member at the current (or, once closed, the final) tier."""
        return apply_discount_bps(self.list_price, self.discount_bps)

    def is_due(self, now: datetime) -> bool:
        """Open, and its closing time has come."""
        return self.status is PoolStatus.OPEN and now >= self.closes_at

    def joined(
        self, *, order_id: str, idempotency_key: str, product: Product, buyer: KnownTenant | None,
        seller: KnownTenant | None, already_member: bool, now: datetime,
    ) -> tuple[Pool, Order, PoolJoined]:
        """One more member; FAILED_PRECONDITION once the pool has closed (or its time has come)."""
        if self.status is not PoolStatus.OPEN or now >= self.closes_at:
            raise FailedPrecondition("the pool is closed")
        if self.members >= MEMBERS_MAX:
            raise FailedPrecondition(f"the pool is full ({MEMBERS_MAX} members)")
        if already_member:
            raise FailedPrecondition("the buyer has joined this pool already")
        order = Order.pool_member(
            order_id=order_id, idempotency_key=idempotency_key, product=product, buyer=buyer, seller=seller,
            pool_id=self.pool_id, list_price=self.list_price, now=now,
        )
        members = self.members + 1
        pool = replace(self, members=members, discount_bps=discount_for(self.tiers, members), version=self.version + 1)
        return pool, order, PoolJoined(pool, order, now)

    def closed(
        self, members: Sequence[Order], *, product: Product | None, seller: KnownTenant | None,
        buyers: Mapping[str, KnownTenant], fee_rate: FeeRate | None, ids: Callable[[], OrderIds], now: datetime,
    ) -> tuple[Pool, list[Order], list[object]]:
        """Settle every eligible member at the tier reached, or cancel the pool.

        FAILED_PRECONDITION while the seller's fee rate is unknown: the pool then stays
        open (no one can join it any more) until the rate arrives.
        """
        if self.status is not PoolStatus.OPEN:
            raise FailedPrecondition(f"the pool is {self.status} already")
        pending = [order for order in members if order.pool_id == self.pool_id]
        reason = _cancel_reason(product, seller)
        if reason:
            return self._cancelled(pending, reason, now)
        assert seller is not None
        rate = fee_rate_of(seller.placement, fee_rate)
        eligible = [o for o in pending if (b := buyers.get(o.buyer.tenant_id)) is not None and b.may_trade]
        dropped = [o for o in pending if o not in eligible]
        discount = discount_for(self.tiers, len(eligible))
        unit_price = apply_discount_bps(self.list_price, discount)
        changed: list[Order] = []
        events: list[object] = []
        for order in eligible:
            settled, settled_events = order.settle_in_pool(
                unit_price, buyer=buyers[order.buyer.tenant_id].placement, seller=seller.placement,
                rate=rate, ids=ids(), now=now,
            )
            changed.append(settled)
            events.extend(settled_events)
        for order in dropped:
            cancelled, event = order.cancelled("the buyer can no longer buy", now=now)
            changed.append(cancelled)
            events.append(event)
        pool = replace(
            self, status=PoolStatus.CLOSED, members=len(eligible), discount_bps=discount, closed_at=now,
            dropped_members=len(dropped), version=self.version + 1,
        )
        return pool, changed, [*events, PoolClosed(pool)]

    def _cancelled(self, pending: Sequence[Order], reason: str, now: datetime) -> tuple[Pool, list[Order], list[object]]:
        changed: list[Order] = []
        events: list[object] = []
        for order in pending:
            cancelled, event = order.cancelled(f"pool cancelled: {reason}", now=now)
            changed.append(cancelled)
            events.append(event)
        pool = replace(
            self, status=PoolStatus.CANCELLED, members=0, discount_bps=0, closed_at=now, cancel_reason=reason,
            dropped_members=len(pending), version=self.version + 1,
        )
        return pool, changed, [*events, PoolClosed(pool)]


def _cancel_reason(product: Product | None, seller: KnownTenant | None) -> str:
    if product is None or not product.on_offer:
        return "the product can no longer be ordered"
    if seller is None or not seller.may_trade:
        return "the seller can no longer sell"
    return ""


@dataclass(frozen=True)
class PoolOpened:
    pool: Pool


@dataclass(frozen=True)
class PoolJoined:
    pool: Pool
    order: Order
    joined_at: datetime


@dataclass(frozen=True)
class PoolClosed:
    """Closed (settled at ``pool.discount_bps``) or cancelled: ``pool.status`` tells."""

    pool: Pool

