"""What trades knows about tenants and sub-parks, and who may trade.

Trades never asks the tenants service on the order path: it keeps its own read model,
fed by park.tenants.v1 through the inbox (see handlers.py). A ``KnownTenant`` is the part
of a tenant trades needs (status, sub-park, sector) at the newest version it has seen; a
``FeeRate`` is a sub-park's current trade-fee rate. Pure Python: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from parkos.errors import FailedPrecondition


class TenantStatus(StrEnum):
    """A tenant's lifecycle state, as the tenants service last published it."""

    PENDING = "pending"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    OFFBOARDED = "offboarded"


@dataclass(frozen=True)
class Placement:
    """Where a tenant sits in the park: what every settlement event carries about each side."""

    tenant_id: str
    sub_park_id: str
    sector_id: str


@dataclass(frozen=True)
class KnownTenant:
    """A tenant as trades knows it from the newest tenant event it applied."""

    tenant_id: str
    status: TenantStatus
    sub_park_id: str
    sector_id: str
    version: int

    @property
    def placement(self) -> Placement:
        return Placement(self.tenant_id, self.sub_park_id, self.sector_id)

    @property
    def may_trade(self) -> bool:
        """Only active tenants buy and sell."""
        return self.status is TenantStatus.ACTIVE


@dataclass(frozen=True)
class FeeRate:
    """A sub-park's trade-fee rate in basis points (0..10000) of each trade's gross."""

    sub_park_id: str
    trade_fee_bps: int

    def __post_init__(self) -> None:
        if type(self.trade_fee_bps) is not int or not 0 <= self.trade_fee_bps <= 10_000:
            raise ValueError(f"trade_fee_bps must be an int within 0..10000, got {self.trade_fee_bps!r}")


def buyer_party(tenant: KnownTenant | None) -> Placement:
    """The buyer's placement; FAILED_PRECONDITION unless trades knows it as active."""
    if tenant is None:
        raise FailedPrecondition("the buyer is not known to the exchange yet; retry in a moment")
    if not tenant.may_trade:
        raise FailedPrecondition(f"the buyer is {tenant.status}: only active tenants can buy")
    return tenant.placement


def seller_party(tenant: KnownTenant | None, *, own: bool) -> Placement:
    """The seller's placement; FAILED_PRECONDITION unless trades knows it as active.

    ``own`` is True when the seller itself (or an admin for it) is asking: it may learn its
    own status; a buyer only learns that the product cannot be traded now.
    """
    if tenant is not None and tenant.may_trade:
        return tenant.placement
    if not own:
        raise FailedPrecondition("the product's seller cannot trade at the moment")
    if tenant is None:
        raise FailedPrecondition("the seller is not known to the exchange yet; retry in a moment")
    raise FailedPrecondition(f"the seller is {tenant.status}: only active tenants can sell")


def fee_rate_of(seller: Placement, rate: FeeRate | None) -> FeeRate:
    """The seller's sub-park rate; FAILED_PRECONDITION while it is not known."""
    if rate is None or rate.sub_park_id != seller.sub_park_id:
        raise FailedPrecondition("the trade-fee rate of the seller's sub-park is not known yet")
    return rate
