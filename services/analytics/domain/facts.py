"""Source events in domain terms, and the per-tenant facts each one splits into.

A settlement concerns two tenants (the seller's SALE, the buyer's PURCHASE); a revenue
report and a tenant snapshot concern one. Fact ids are derived, never drawn, so every
split of the same source event yields the same facts.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from enum import StrEnum

# 10^16 fen = 100 trillion yuan: far above any trade, far below int64.
AMOUNT_MAX_MINOR = 10**16

# Fixed namespace: fact ids must be the same in every process, forever.
FACT_NAMESPACE = uuid.UUID("5b0d7a52-3c1e-4f7e-9a52-6a1f0c2d8e11")

_PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_CURRENCY = re.compile(r"[A-Z]{3}")


class InvalidFact(ValueError):
    """A source event that cannot be turned into facts: it goes to the dead-letter topic."""


class FactKind(StrEnum):
    """What a fact says about its tenant."""

    SALE = "sale"
    PURCHASE = "purchase"
    DECLARED_REVENUE = "declared_revenue"
    PROFILE = "profile"
    CLOCK = "clock"  # time passed: the trailing valuation window moves (no source event)


class Role(StrEnum):
    """The tenant's part in a source event; with the event id it makes the fact id."""

    SELLER = "seller"
    BUYER = "buyer"
    DECLARANT = "declarant"
    SUBJECT = "subject"


def fact_id_for(source_event_id: str, role: Role) -> str:
    """The id of ``role``'s fact of a source event: the same for every split of that event."""
    return str(uuid.uuid5(FACT_NAMESPACE, f"{source_event_id}/{role.value}"))


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a tenant sits in the park."""

    tenant_id: str
    sub_park_id: str = ""
    sector_id: str = ""


@dataclass(frozen=True, slots=True)
class Settlement:
    """A TradeSettled, or (``refund``) an OrderRefunded with the same, positive, amounts."""

    source_event_id: str
    order_id: str
    buyer: Placement
    seller: Placement
    gross: int
    fee: int
    net: int
    currency: str
    classification_level: int
    occurred_at_ms: int
    refund: bool = False


@dataclass(frozen=True, slots=True)
class RevenueDeclaration:
    """A RevenueReported: version ``version`` of a tenant's revenue for month ``period``."""

    source_event_id: str
    placement: Placement
    period: str
    version: int
    amount: int
    currency: str
    occurred_at_ms: int


@dataclass(frozen=True, slots=True)
class ProfileSnapshot:
    """A tenant event carrying the whole tenant (registered, profile updated, status changed)."""

    source_event_id: str
    placement: Placement
    legal_name: str
    status: str
    version: int
    occurred_at_ms: int


@dataclass(frozen=True, slots=True)
class Fact:
    """One tenant's share of a source event (see the package docstring)."""

    fact_id: str
    kind: FactKind
    tenant_id: str
    occurred_at_ms: int
    source_event_id: str
    sign: int = 1
    currency: str = ""
    gross: int = 0
    fee: int = 0
    net: int = 0
    counterparty_id: str = ""
    classification_level: int = 0
    sub_park_id: str = ""
    sector_id: str = ""
    legal_name: str = ""
    status: str = ""
    profile_version: int = 0
    period: str = ""
    revenue_version: int = 0
    declared: int = 0
    order_id: str = ""


def clock_fact(tenant_id: str, at_ms: int) -> Fact:
    """The tenant's CLOCK fact for instant ``at_ms``: the same id wherever and however often it is
    made, so copies from several workers or timer runs are one fact."""
    return Fact(
        fact_id=str(uuid.uuid5(FACT_NAMESPACE, f"clock/{tenant_id}/{at_ms}")), kind=FactKind.CLOCK,
        tenant_id=tenant_id, occurred_at_ms=at_ms, source_event_id="",
    )


def facts_of_settlement(settlement: Settlement) -> tuple[Fact, Fact]:
    """The seller's SALE and the buyer's PURCHASE; refunds carry sign -1."""
    _check_settlement(settlement)
    sign = -1 if settlement.refund else 1
    common = {
        "occurred_at_ms": settlement.occurred_at_ms, "source_event_id": settlement.source_event_id,
        "sign": sign, "currency": settlement.currency, "gross": settlement.gross, "fee": settlement.fee,
        "net": settlement.net, "classification_level": settlement.classification_level,
        "order_id": settlement.order_id,
    }
    seller, buyer = settlement.seller, settlement.buyer
    sale = Fact(
        fact_id=fact_id_for(settlement.source_event_id, Role.SELLER), kind=FactKind.SALE,
        tenant_id=seller.tenant_id, counterparty_id=buyer.tenant_id,
        sub_park_id=seller.sub_park_id, sector_id=seller.sector_id, **common,
    )
    purchase = Fact(
        fact_id=fact_id_for(settlement.source_event_id, Role.BUYER), kind=FactKind.PURCHASE,
        tenant_id=buyer.tenant_id, counterparty_id=seller.tenant_id,
        sub_park_id=buyer.sub_park_id, sector_id=buyer.sector_id, **common,
    )
    return sale, purchase


def fact_of_declaration(declaration: RevenueDeclaration) -> Fact:
    """The declaring tenant's DECLARED_REVENUE fact."""
    if not declaration.placement.tenant_id:
        raise InvalidFact("revenue report without tenant_id")
    if not _PERIOD.fullmatch(declaration.period):
        raise InvalidFact(f"revenue report period {declaration.period!r} is not YYYY-MM")
    if declaration.version < 1:
        raise InvalidFact(f"revenue report version {declaration.version} is not positive")
    _check_amount("revenue", declaration.amount)
    _check_currency(declaration.currency)
    placement = declaration.placement
    return Fact(
        fact_id=fact_id_for(declaration.source_event_id, Role.DECLARANT), kind=FactKind.DECLARED_REVENUE,
        tenant_id=placement.tenant_id, occurred_at_ms=declaration.occurred_at_ms,
        source_event_id=declaration.source_event_id, currency=declaration.currency,
        sub_park_id=placement.sub_park_id, sector_id=placement.sector_id, period=declaration.period,
        revenue_version=declaration.version, declared=declaration.amount,
    )


def fact_of_profile(snapshot: ProfileSnapshot) -> Fact:
    """The tenant's PROFILE fact: where it sits, its name and status, at ``version``."""
    if not snapshot.placement.tenant_id:
        raise InvalidFact("tenant event without tenant_id")
    placement = snapshot.placement
    return Fact(
        fact_id=fact_id_for(snapshot.source_event_id, Role.SUBJECT), kind=FactKind.PROFILE,
        tenant_id=placement.tenant_id, occurred_at_ms=snapshot.occurred_at_ms,
        source_event_id=snapshot.source_event_id, sub_park_id=placement.sub_park_id,
        sector_id=placement.sector_id, legal_name=snapshot.legal_name, status=snapshot.status,
        profile_version=snapshot.version,
    )


def _check_settlement(s: Settlement) -> None:
    if not s.buyer.tenant_id or not s.seller.tenant_id:
        raise InvalidFact("settlement without buyer or seller tenant_id")
    if s.buyer.tenant_id == s.seller.tenant_id:
        raise InvalidFact("settlement whose buyer is its seller")
    for name, amount in (("gross", s.gross), ("fee", s.fee), ("net", s.net)):
        _check_amount(name, amount)
    if s.gross != s.fee + s.net:
        raise InvalidFact(f"gross {s.gross} != fee {s.fee} + net {s.net}")
    _check_currency(s.currency)
    if not 0 <= s.classification_level <= 4:
        raise InvalidFact(f"classification level {s.classification_level} is not 0..4")


def _check_amount(name: str, amount: int) -> None:
    if not 0 <= amount <= AMOUNT_MAX_MINOR:
        raise InvalidFact(f"{name} {amount} is not within 0..{AMOUNT_MAX_MINOR} minor units")


def _check_currency(currency: str) -> None:
    if not _CURRENCY.fullmatch(currency or ""):
        raise InvalidFact(f"currency {currency!r} is not an ISO 4217 code")
