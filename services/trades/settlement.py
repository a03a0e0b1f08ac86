"""Orders and the money they move: settlement, license grants, refunds.

Pure Python. The rules that keep the park's books exact:

- an order settles once: gross paid by the buyer, fee = the seller's sub-park rate of
  gross (``split_fee``, rounded half up), net = gross - fee to the seller; so
  gross == fee + net for every settlement;
- a refund reverses exactly the settlement's gross, fee and net, once;
- a settled order grants the buyer a license (its permitted uses, until a date); a refund
  ends it.

A direct order (``place_order``) settles at once; a pool member's order waits
(POOL_PENDING) and settles or is cancelled when its pool closes (``pools.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from parkos.errors import FailedPrecondition, InvalidArgument
from parkos.money import Money, split_fee

from services.trades.domain import REASON_MAX, LicenseTerms, PermittedUse, Product, text_violations
from services.trades.tenant_directory import FeeRate, KnownTenant, Placement, buyer_party, fee_rate_of, seller_party

IDEMPOTENCY_KEY_MIN, IDEMPOTENCY_KEY_MAX = 8, 128
_IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_.:\-]+")


class OrderStatus(StrEnum):
    POOL_PENDING = "pool_pending"
    SETTLED = "settled"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Settlement:
    """Money moved for one order: gross = fee + net, always."""

    settlement_id: str
    gross: Money
    fee: Money
    net: Money
    fee_bps: int
    settled_at: datetime

    @classmethod
    def of(cls, gross: Money, rate: FeeRate, *, settlement_id: str, now: datetime) -> Settlement:
        fee, net = split_fee(gross, rate.trade_fee_bps)
        return cls(settlement_id, gross, fee, net, rate.trade_fee_bps, now)


@dataclass(frozen=True)
class Refund:
    """A settlement reversed: exactly its amounts, returned."""

    refund_id: str
    gross: Money
    fee: Money
    net: Money
    reason: str
    refunded_by: str
    refunded_at: datetime
    idempotency_key: str = ""


@dataclass(frozen=True)
class License:
    """What the buyer may do with the data, from settlement until ``valid_until``."""

    license_id: str
    permitted_uses: tuple[PermittedUse, ...]
    valid_from: datetime
    valid_until: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class OrderIds:
    """Ids a settlement needs, made by the caller (the domain makes no ids)."""

    settlement_id: str
    license_id: str


@dataclass(frozen=True)
class Order:
    """One buyer's purchase of one product."""

    order_id: str
    idempotency_key: str
    product_id: str
    product_title: str
    classification_level: int
    license_terms: LicenseTerms
    buyer: Placement
    seller: Placement
    list_price: Money
    status: OrderStatus
    placed_at: datetime
    pool_id: str = ""
    settlement: Settlement | None = None
    license: License | None = None
    refund: Refund | None = None
    cancel_reason: str = ""
    version: int = 1

    @classmethod
    def place(
        cls, *, order_id: str, idempotency_key: str, product: Product, buyer: KnownTenant | None,
        seller: KnownTenant | None, fee_rate: FeeRate | None, ids: OrderIds, now: datetime,
    ) -> tuple[Order, list[OrderPlaced | TradeSettled]]:
        """A direct order of ``product``, settled at once at its current price."""
        order = cls._new(order_id, idempotency_key, product, buyer, seller, product.price, OrderStatus.SETTLED, now)
        rate = fee_rate_of(order.seller, fee_rate)
        settled = order._with_settlement(product.price, rate, ids, now)
        return settled, [OrderPlaced(settled), TradeSettled(settled)]

    @classmethod
    def pool_member(
        cls, *, order_id: str, idempotency_key: str, product: Product, buyer: KnownTenant | None,
        seller: KnownTenant | None, pool_id: str, list_price: Money, now: datetime,
    ) -> Order:
        """A pool member's order: it waits for the pool to close (see pools.py)."""
        order = cls._new(order_id, idempotency_key, product, buyer, seller, list_price, OrderStatus.POOL_PENDING, now)
        return replace(order, pool_id=pool_id)

    @classmethod
    def _new(
        cls, order_id: str, idempotency_key: str, product: Product, buyer: KnownTenant | None,
        seller: KnownTenant | None, list_price: Money, status: OrderStatus, now: datetime,
    ) -> Order:
        check_idempotency_key(idempotency_key)
        buyer_placement = buyer_party(buyer)
        product.ensure_orderable()
        if buyer_placement.tenant_id == product.seller_tenant_id:
            raise FailedPrecondition("a tenant cannot buy its own product")
        seller_placement = seller_party(seller, own=False)
        return cls(
            order_id=order_id,
            idempotency_key=idempotency_key,
            product_id=product.product_id,
            product_title=product.title,
            classification_level=product.classification_level,
            license_terms=product.license,
            buyer=buyer_placement,
            seller=seller_placement,
            list_price=list_price,
            status=status,
            placed_at=now,
        )

    def settle_in_pool(
        self, unit_price: Money, *, buyer: Placement, seller: Placement, rate: FeeRate, ids: OrderIds, now: datetime
    ) -> tuple[Order, list[OrderPlaced | TradeSettled]]:
        """Settle a pool member's order at the pool's final unit price."""
        if self.status is not OrderStatus.POOL_PENDING:
            raise FailedPrecondition(f"the order is {self.status}, not waiting for its pool")
        placed = replace(self, buyer=buyer, seller=seller)
        settled = placed._with_settlement(unit_price, rate, ids, now)
        return settled, [OrderPlaced(settled), TradeSettled(settled)]

    def cancelled(self, reason: str, *, now: datetime) -> tuple[Order, OrderCancelled]:
        """A pool member's order that will never settle."""
        if self.status is not OrderStatus.POOL_PENDING:
            raise FailedPrecondition(f"the order is {self.status}, not waiting for its pool")
        changed = replace(self, status=OrderStatus.CANCELLED, cancel_reason=reason, version=self.version + 1)
        return changed, OrderCancelled(changed, now)

    def refunded(
        self, *, reason: str, idempotency_key: str, refund_id: str, actor: str, now: datetime
    ) -> tuple[Order, OrderRefunded | None]:
        """Reverse the settlement exactly, once; the license ends now.

        Repeating the refund with the idempotency key that made it returns the order
        unchanged and no event; any other second refund is FAILED_PRECONDITION.
        """
        violations = text_violations("reason", reason, minimum=1, maximum=REASON_MAX)
        if idempotency_key:
            check_idempotency_key(idempotency_key)
        if violations:
            raise InvalidArgument("a reason is required to refund", violations)
        if self.status is OrderStatus.REFUNDED:
            assert self.refund is not None
            if idempotency_key and self.refund.idempotency_key == idempotency_key:
                return self, None
            raise FailedPrecondition("the order was refunded already")
        if self.status is not OrderStatus.SETTLED or self.settlement is None:
            raise FailedPrecondition(f"only a settled order can be refunded; this one is {self.status.replace('_', ' ')}")
        settlement = self.settlement
        refund = Refund(
            refund_id=refund_id, gross=settlement.gross, fee=settlement.fee, net=settlement.net,
            reason=reason.strip(), refunded_by=actor, refunded_at=now, idempotency_key=idempotency_key,
        )
        license_ = replace(self.license, revoked_at=now) if self.license is not None else None
        changed = replace(self, status=OrderStatus.REFUNDED, refund=refund, license=license_, version=self.version + 1)
        return changed, OrderRefunded(changed)

    def visible_to(self, tenant_id: str) -> bool:
        """Whether a tenant may see this order: its buyer or its seller."""
        return tenant_id in (self.buyer.tenant_id, self.seller.tenant_id)

    def _with_settlement(self, gross: Money, rate: FeeRate, ids: OrderIds, now: datetime) -> Order:
        settlement = Settlement.of(gross, rate, settlement_id=ids.settlement_id, now=now)
        license_ = License(
            license_id=ids.license_id,
            permitted_uses=self.license_terms.permitted_uses,
            valid_from=now,
            valid_until=now + timedelta(days=self.license_terms.duration_days),
        )
        return replace(
            self, status=OrderStatus.SETTLED, settlement=settlement, license=license_,
            version=self.version + (0 if self.status is OrderStatus.SETTLED else 1),
        )


def check_idempotency_key(key: str, field: str = "idempotency_key") -> str:
    """INVALID_ARGUMENT unless ``key`` is 8..128 characters of letters, digits and ``-_.:``."""
    if not key:
        raise InvalidArgument.for_field(field, "is required: a retried call must send the same key")
    if not IDEMPOTENCY_KEY_MIN <= len(key) <= IDEMPOTENCY_KEY_MAX or not _IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidArgument.for_field(
            field, f"must be {IDEMPOTENCY_KEY_MIN}..{IDEMPOTENCY_KEY_MAX} letters, digits or '-_.:'"
        )
    return key


@dataclass(frozen=True)
class OrderPlaced:
    order: Order


@dataclass(frozen=True)
class TradeSettled:
    order: Order


@dataclass(frozen=True)
class OrderRefunded:
    order: Order


@dataclass(frozen=True)
class OrderCancelled:
    order: Order
    cancelled_at: datetime
