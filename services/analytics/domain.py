"""The park's live numbers: per-tenant ledgers, revenue math, the data multiplier and the
data-asset valuation. Pure Python: no Faust, Kafka, gRPC or protobuf.

How events become numbers
=========================

A source event (TradeSettled, OrderRefunded, RevenueReported, a tenant snapshot) is split
into *facts*, one per tenant it concerns (``facts_of_settlement`` & co.): the seller's
SALE (net, fee, gross, the buyer, the product's classification level) and the buyer's
PURCHASE (gross). A fact's id is a UUIDv5 of the source event id and the tenant's role,
so the same source event always yields the same fact ids, whoever splits it and however
often.

Facts are applied to the tenant's ``TenantLedger`` by ``apply_fact``. A ledger holds every
figure of one tenant *and* ``applied_offset``, the highest repartition-topic offset already
applied to it: a fact whose offset is not higher is skipped. Because figures and guard
travel in one value (one changelog record), a crash can never leave one updated without
the other. Duplicates that arrive at a *different* offset (a producer's re-send, or the
split re-run after a crash) are caught before ``apply_fact`` by fact id (see handlers.py).

Money is integer minor units (fen); ratios are ``fractions.Fraction`` and decimal strings;
rounding is half up, once, at the end. No float ever touches money.

Windows are tumbling UTC hours and days of *event time* (when a trade settled or was
refunded), so replaying the same facts gives the same buckets. Buckets older than the
retention (counted back from the newest event time the tenant has seen) are dropped;
all-time figures keep everything.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from fractions import Fraction
from typing import NamedTuple

MS_PER_SECOND = 1000
SECONDS_PER_HOUR = 3600
SECONDS_PER_DAY = 86_400
BPS = 10_000
DAYS_PER_YEAR = 365
# 10^16 fen = 100 trillion yuan: far above any trade, far below int64.
AMOUNT_MAX_MINOR = 10**16

# Fixed namespaces: fact and valuation ids must be the same in every process, forever.
FACT_NAMESPACE = uuid.UUID("5b0d7a52-3c1e-4f7e-9a52-6a1f0c2d8e11")
VALUATION_NAMESPACE = uuid.UUID("0f6c1d2e-8b47-4c55-b0a9-2d4e7f3a9c60")

_DECIMAL = re.compile(r"(\d+)(?:\.(\d+))?")
_PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


class InvalidFact(ValueError):
    """A source event that cannot be turned into facts: it goes to the dead-letter topic."""


class FactKind(StrEnum):
    """What a fact says about its tenant."""

    SALE = "sale"
    PURCHASE = "purchase"
    DECLARED_REVENUE = "declared_revenue"
    PROFILE = "profile"


class Role(StrEnum):
    """The tenant's part in a source event; with the event id it makes the fact id."""

    SELLER = "seller"
    BUYER = "buyer"
    DECLARANT = "declarant"
    SUBJECT = "subject"


def fact_id_for(source_event_id: str, role: Role) -> str:
    """The id of ``role``'s fact of a source event: the same for every split of that event."""
    return str(uuid.uuid5(FACT_NAMESPACE, f"{source_event_id}/{role.value}"))


def valuation_event_id(fact_id: str) -> str:
    """The DataAssetValued event id of the valuation a fact caused: a re-send has the same id."""
    return str(uuid.uuid5(VALUATION_NAMESPACE, fact_id))


# --- source events, in domain terms --------------------------------------------------------


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
    """One tenant's share of a source event; see the module docstring."""

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
    if not re.fullmatch(r"[A-Z]{3}", currency or ""):
        raise InvalidFact(f"currency {currency!r} is not an ISO 4217 code")


# --- figures --------------------------------------------------------------------------------


class Bucket(NamedTuple):
    """Figures of one tenant (or a sum of tenants) over one window; integers, minor units."""

    data_sales_net: int = 0
    park_fees: int = 0
    data_sales_gross: int = 0
    data_spend: int = 0
    trades_sold: int = 0
    trades_bought: int = 0

    def plus(self, other: Bucket) -> Bucket:
        return Bucket(*(a + b for a, b in zip(self, other, strict=True)))

    def minus(self, other: Bucket) -> Bucket:
        return Bucket(*(a - b for a, b in zip(self, other, strict=True)))


ZERO = Bucket()


def bucket_delta(fact: Fact) -> Bucket:
    """What a SALE or PURCHASE fact adds to its tenant's figures (negative for a refund)."""
    s = fact.sign
    if fact.kind is FactKind.SALE:
        return Bucket(s * fact.net, s * fact.fee, s * fact.gross, 0, s, 0)
    if fact.kind is FactKind.PURCHASE:
        return Bucket(0, 0, 0, s * fact.gross, 0, s)
    return ZERO


@dataclass(frozen=True, slots=True)
class Figures:
    """Revenue figures of a slice of the park: a bucket plus declared revenue."""

    bucket: Bucket = ZERO
    declared: int = 0

    @property
    def revenue(self) -> int:
        """Data-product sales (net to sellers) plus declared operating revenue."""
        return self.bucket.data_sales_net + self.declared

    def plus(self, other: Figures) -> Figures:
        return Figures(self.bucket.plus(other.bucket), self.declared + other.declared)

    def minus(self, other: Figures) -> Figures:
        return Figures(self.bucket.minus(other.bucket), self.declared - other.declared)

    def multiplier(self, places: int = 2) -> Ratio:
        """Revenue per unit of data-element spend (the park's "data multiplier")."""
        return Ratio.of(self.revenue, self.bucket.data_spend, places)


@dataclass(frozen=True, slots=True)
class Ratio:
    """An exact ratio of integers and its decimal rendering (half away from zero)."""

    numerator: int
    denominator: int
    decimal: str
    places: int

    @classmethod
    def of(cls, numerator: int, denominator: int, places: int = 2) -> Ratio:
        if denominator < 0:
            numerator, denominator = -numerator, -denominator
        if denominator == 0:
            return cls(numerator, 0, "", places)
        return cls(numerator, denominator, decimal_string(Fraction(numerator, denominator), places), places)


def round_half_up(value: Fraction) -> int:
    """The integer nearest ``value``, halves away from zero (exact: no float)."""
    if value < 0:
        return -round_half_up(-value)
    return (2 * value.numerator + value.denominator) // (2 * value.denominator)


def decimal_string(value: Fraction, places: int) -> str:
    """``value`` written with ``places`` decimals, rounded half away from zero."""
    scaled = round_half_up(value * 10**places)
    sign = "-" if scaled < 0 else ""
    whole, fraction = divmod(abs(scaled), 10**places)
    return f"{sign}{whole}.{fraction:0{places}d}" if places else f"{sign}{whole}"


def parse_decimal(text: str) -> Fraction:
    """An exact non-negative decimal from ``"3"`` or ``"2.75"``; ValueError otherwise (no float)."""
    match = _DECIMAL.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a non-negative decimal number: {text!r}")
    whole, fraction = match.group(1), match.group(2) or ""
    return Fraction(int(whole + fraction), 10 ** len(fraction))


# --- valuation policy -----------------------------------------------------------------------


@dataclass(frozen=True)
class ValuationPolicy:
    """The income approach's parameters and how long buckets are kept.

    quality factor (bps) = buyers factor x compliance factor / 10000, where
      buyers factor = 0 with no buyer, else min(10000, 5000 + 500 x (distinct buyers - 1)):
        market evidence grows with every distinct buyer, full at 11;
      compliance factor = ``compliance_bps[level]`` for the highest classification level the
        tenant has sold (reviewed data of a higher level is scarcer and worth more).
    """

    window_days: int = 90
    capitalization_multiple: str = "3"
    advance_rate_bps: int = 3000
    compliance_bps: Mapping[int, int] = field(
        default_factory=lambda: {0: 9000, 1: 9000, 2: 10000, 3: 11000, 4: 12000}
    )
    hour_retention: int = 48
    day_retention: int = 0  # 0: the valuation window, and at least 62 days
    history_limit: int = 20

    def __post_init__(self) -> None:
        if not 1 <= self.window_days <= 3660:
            raise ValueError("window_days must be within 1..3660")
        parse_decimal(self.capitalization_multiple)
        if not 0 <= self.advance_rate_bps <= BPS:
            raise ValueError("advance_rate_bps must be within 0..10000")
        if self.hour_retention < 1 or self.history_limit < 1:
            raise ValueError("hour_retention and history_limit must be positive")

    @property
    def multiple(self) -> Fraction:
        return parse_decimal(self.capitalization_multiple)

    @property
    def days_kept(self) -> int:
        return max(self.window_days, self.day_retention or 62)

    def buyers_factor_bps(self, distinct_buyers: int) -> int:
        if distinct_buyers <= 0:
            return 0
        return min(BPS, 5000 + 500 * (distinct_buyers - 1))

    def compliance_factor_bps(self, level: int) -> int:
        return self.compliance_bps.get(level, self.compliance_bps.get(0, BPS))

    def quality_bps(self, distinct_buyers: int, level: int) -> int:
        return self.buyers_factor_bps(distinct_buyers) * self.compliance_factor_bps(level) // BPS


@dataclass(frozen=True, slots=True)
class Valuation:
    """A data-asset valuation and everything that went into it."""

    valuation: int
    previous: int
    trailing_net: int
    window_days: int
    capitalization_multiple: str
    quality_bps: int
    distinct_buyers: int
    compliance_level: int
    credit_line_hint: int
    advance_rate_bps: int
    valued_at_ms: int
    fact_id: str
    source_event_id: str
    event_id: str
    fact_offset: int


# --- the ledger -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TenantLedger:
    """Everything analytics knows about one tenant, with the guard that makes it exact."""

    tenant_id: str
    applied_offset: int = -1
    currency: str = ""
    sub_park_id: str = ""
    sector_id: str = ""
    legal_name: str = ""
    status: str = ""
    profile_version: int = 0
    all_time: Bucket = ZERO
    hours: Mapping[int, Bucket] = field(default_factory=dict)
    days: Mapping[int, Bucket] = field(default_factory=dict)
    declared: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # period -> (version, amount)
    buyers: Mapping[str, int] = field(default_factory=dict)
    # Highest classification level sold; a refund does not lower it (OrderRefunded has no level).
    compliance_level: int = 0
    watermark_ms: int = 0
    valuation: Valuation | None = None
    history: tuple[Valuation, ...] = ()
    last_source_event_id: str = ""
    facts_applied: int = 0

    @property
    def declared_total(self) -> int:
        """Declared revenue: the newest version of every month."""
        return sum(amount for _version, amount in self.declared.values())

    @property
    def distinct_buyers(self) -> int:
        return sum(1 for orders in self.buyers.values() if orders > 0)

    def figures(self) -> Figures:
        """All-time figures."""
        return Figures(self.all_time, self.declared_total)

    def hour_figures(self, hour_start: int) -> Figures:
        return Figures(self.hours.get(hour_start, ZERO))

    def day_figures(self, day_start: int) -> Figures:
        return Figures(self.days.get(day_start, ZERO))


@dataclass(frozen=True, slots=True)
class Applied:
    """The ledger after a fact, and the valuation to publish if the fact changed it."""

    ledger: TenantLedger
    published: Valuation | None = None


def hour_start(ms: int) -> int:
    """UTC start (seconds) of the hour that contains ``ms``."""
    return ms // (SECONDS_PER_HOUR * MS_PER_SECOND) * SECONDS_PER_HOUR


def day_start(ms: int) -> int:
    """UTC start (seconds) of the day that contains ``ms``."""
    return ms // (SECONDS_PER_DAY * MS_PER_SECOND) * SECONDS_PER_DAY


def apply_fact(ledger: TenantLedger, fact: Fact, offset: int, policy: ValuationPolicy) -> Applied | None:
    """``ledger`` with ``fact`` (read at repartition-topic ``offset``) applied; None if already applied.

    Raises InvalidFact for a fact about another tenant or in another currency.
    """
    if offset <= ledger.applied_offset:
        return None
    if fact.tenant_id != ledger.tenant_id:
        raise InvalidFact(f"fact of {fact.tenant_id} applied to the ledger of {ledger.tenant_id}")
    changes: dict[str, object] = {
        "applied_offset": offset,
        "watermark_ms": max(ledger.watermark_ms, fact.occurred_at_ms),
        "last_source_event_id": fact.source_event_id,
        "facts_applied": ledger.facts_applied + 1,
    }
    if fact.currency:
        if ledger.currency and fact.currency != ledger.currency:
            raise InvalidFact(f"fact in {fact.currency} for a ledger in {ledger.currency}")
        changes["currency"] = fact.currency
    if fact.kind is FactKind.PROFILE:
        if fact.profile_version >= ledger.profile_version:
            changes.update(
                sub_park_id=fact.sub_park_id, sector_id=fact.sector_id, legal_name=fact.legal_name,
                status=fact.status, profile_version=fact.profile_version,
            )
    elif ledger.profile_version == 0 and fact.sub_park_id:
        # No registry snapshot yet: take the placement the trade or report carries.
        changes.update(sub_park_id=fact.sub_park_id, sector_id=fact.sector_id)
    if fact.kind is FactKind.DECLARED_REVENUE:
        current = ledger.declared.get(fact.period)
        if current is None or fact.revenue_version > current[0]:
            declared = dict(ledger.declared)
            declared[fact.period] = (fact.revenue_version, fact.declared)
            changes["declared"] = declared
    elif fact.kind in (FactKind.SALE, FactKind.PURCHASE):
        changes.update(_with_trade(ledger, fact, changes["watermark_ms"], policy))  # type: ignore[arg-type]
    updated = replace(ledger, **changes)  # type: ignore[arg-type]
    return _revalued(updated, fact, offset, policy)


def _with_trade(ledger: TenantLedger, fact: Fact, watermark_ms: int, policy: ValuationPolicy) -> dict[str, object]:
    delta = bucket_delta(fact)
    changes: dict[str, object] = {"all_time": ledger.all_time.plus(delta)}
    changes["hours"] = _bucketed(
        ledger.hours, hour_start(fact.occurred_at_ms), delta,
        hour_start(watermark_ms) - (policy.hour_retention - 1) * SECONDS_PER_HOUR,
    )
    changes["days"] = _bucketed(
        ledger.days, day_start(fact.occurred_at_ms), delta,
        day_start(watermark_ms) - (policy.days_kept - 1) * SECONDS_PER_DAY,
    )
    if fact.kind is FactKind.SALE:
        changes["buyers"] = _counted(ledger.buyers, fact.counterparty_id, fact.sign)
        if fact.sign > 0:
            changes["compliance_level"] = max(ledger.compliance_level, fact.classification_level)
    return changes


def _bucketed(buckets: Mapping[int, Bucket], start: int, delta: Bucket, oldest: int) -> dict[int, Bucket]:
    kept = {key: value for key, value in buckets.items() if key >= oldest}
    if start >= oldest:  # a fact older than the retention counts in all-time figures only
        kept[start] = kept.get(start, ZERO).plus(delta)
    return kept


def _counted(counts: Mapping, key: object, sign: int) -> dict:
    updated = dict(counts)
    value = updated.get(key, 0) + sign
    if value:
        updated[key] = value
    else:
        updated.pop(key, None)
    return updated


def trailing_net(ledger: TenantLedger, window_days: int) -> int:
    """Net data-product revenue of the last ``window_days`` UTC days up to the newest event."""
    oldest = day_start(ledger.watermark_ms) - (window_days - 1) * SECONDS_PER_DAY
    return sum(bucket.data_sales_net for start, bucket in ledger.days.items() if start >= oldest)


def value_of(ledger: TenantLedger, policy: ValuationPolicy) -> tuple[int, int, int, int]:
    """``(valuation, trailing net, quality bps, credit line hint)`` of ``ledger`` (see ValuationPolicy)."""
    trailing = trailing_net(ledger, policy.window_days)
    quality = policy.quality_bps(ledger.distinct_buyers, ledger.compliance_level)
    if trailing <= 0:
        return 0, trailing, quality, 0
    annualised = Fraction(trailing * DAYS_PER_YEAR, policy.window_days)
    valuation = round_half_up(annualised * policy.multiple * Fraction(quality, BPS))
    revenue_history = max(0, ledger.all_time.data_sales_net + ledger.declared_total)
    credit = min(round_half_up(Fraction(valuation * policy.advance_rate_bps, BPS)), revenue_history)
    return valuation, trailing, quality, credit


def _revalued(ledger: TenantLedger, fact: Fact, offset: int, policy: ValuationPolicy) -> Applied:
    valuation, trailing, quality, credit = value_of(ledger, policy)
    previous = ledger.valuation
    if previous is None and valuation == 0:
        return Applied(ledger)
    if previous is not None and (previous.valuation, previous.credit_line_hint) == (valuation, credit):
        return Applied(ledger)
    new = Valuation(
        valuation=valuation, previous=previous.valuation if previous else 0, trailing_net=trailing,
        window_days=policy.window_days, capitalization_multiple=policy.capitalization_multiple,
        quality_bps=quality, distinct_buyers=ledger.distinct_buyers, compliance_level=ledger.compliance_level,
        credit_line_hint=credit, advance_rate_bps=policy.advance_rate_bps, valued_at_ms=fact.occurred_at_ms,
        fact_id=fact.fact_id, source_event_id=fact.source_event_id, event_id=valuation_event_id(fact.fact_id),
        fact_offset=offset,
    )
    history = (*ledger.history, new)[-policy.history_limit:]
    return Applied(replace(ledger, valuation=new, history=history), new)


def valuation_to_republish(ledger: TenantLedger, offset: int) -> Valuation | None:
    """The valuation the fact at ``offset`` published, when that fact is replayed after a crash.

    The ledger may have reached the changelog while the DataAssetValued record did not; the
    replay publishes it again with the same event id, and consumers de-duplicate.
    """
    for valuation in reversed(ledger.history):
        if valuation.fact_offset == offset:
            return valuation
        if valuation.fact_offset < offset:
            return None
    return None


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with one fact read from the repartition topic at ``offset``."""

    duplicate: bool = False  # the same fact was first seen at another offset: ignore it
    ledger: TenantLedger | None = None  # the ledger to write (None: unchanged)
    publish: Valuation | None = None  # the DataAssetValued to publish (again, on a replay)
    remember_offset: bool = False  # record ``offset`` as where this fact was first seen


def decide(
    ledger: TenantLedger | None, first_offset: int | None, fact: Fact, offset: int, policy: ValuationPolicy
) -> Decision:
    """The whole de-duplication rule for a fact at ``offset`` (see tables.py).

    ``first_offset`` is where the fact id was first seen (None: never). A copy at another
    offset is a duplicate. Otherwise the ledger guard decides: an offset already applied is a
    replay after a crash (nothing to apply, but the valuation it published is published
    again); a higher one is applied. The two tables may be recovered in any combination of
    "written" and "not written" for this fact, and every combination ends in the same state.
    Raises InvalidFact for a fact that cannot be applied.
    """
    if first_offset is not None and first_offset != offset:
        return Decision(duplicate=True)
    current = ledger if ledger is not None else TenantLedger(fact.tenant_id)
    applied = apply_fact(current, fact, offset, policy)
    remember = first_offset is None
    if applied is None:
        return Decision(publish=valuation_to_republish(current, offset), remember_offset=remember)
    return Decision(ledger=applied.ledger, publish=applied.published, remember_offset=remember)


# --- sums over tenants ----------------------------------------------------------------------


def total_figures(figures: Iterable[Figures]) -> Figures:
    """The sum of ``figures``."""
    total = Figures()
    for item in figures:
        total = total.plus(item)
    return total
