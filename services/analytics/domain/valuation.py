"""Data-asset valuation by the income approach, and the credit line it suggests.

valuation = trailing net data-product revenue over the window, annualised
            x capitalization multiple x quality factor;
credit line hint = valuation x advance rate, capped by the tenant's revenue history.

A valuation is recomputed after every fact that changes a ledger and published when its
figures moved; its event id derives from the fact that caused it, so a replay re-sends
the same event rather than a new one.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

from services.analytics.domain.ratios import parse_decimal, round_half_up
from services.analytics.domain.windows import oldest_day

if TYPE_CHECKING:  # the ledger holds valuations; valuing only reads it
    from services.analytics.domain.ledger import TenantLedger

BPS = 10_000
DAYS_PER_YEAR = 365

# Fixed namespace: valuation event ids must be the same in every process, forever.
VALUATION_NAMESPACE = uuid.UUID("0f6c1d2e-8b47-4c55-b0a9-2d4e7f3a9c60")


def valuation_event_id(fact_id: str) -> str:
    """The DataAssetValued event id of the valuation a fact caused: a re-send has the same id."""
    return str(uuid.uuid5(VALUATION_NAMESPACE, fact_id))


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
        """The capitalization multiple, exact."""
        return parse_decimal(self.capitalization_multiple)

    @property
    def days_kept(self) -> int:
        """Day buckets kept: at least the valuation window, so the trailing sum is complete."""
        return max(self.window_days, self.day_retention or 62)

    def buyers_factor_bps(self, distinct_buyers: int) -> int:
        """The market-evidence factor for ``distinct_buyers`` (see the class docstring)."""
        if distinct_buyers <= 0:
            return 0
        return min(BPS, 5000 + 500 * (distinct_buyers - 1))

    def compliance_factor_bps(self, level: int) -> int:
        """The factor of classification ``level``; an unknown level counts as level 0."""
        return self.compliance_bps.get(level, self.compliance_bps.get(0, BPS))

    def quality_bps(self, distinct_buyers: int, level: int) -> int:
        """Buyers factor x compliance factor, in basis points."""
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


def trailing_net(ledger: TenantLedger, window_days: int) -> int:
    """Net data-product revenue of the last ``window_days`` UTC days up to the newest event."""
    oldest = oldest_day(ledger.watermark_ms, window_days)
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
