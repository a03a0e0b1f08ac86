"""Revenue and data spend of a tenant or a slice of the park, and the data multiplier.

A ``Bucket`` holds the trade figures of one window (or all time); ``Figures`` adds the
declared operating revenue. Sums over tenants are plain additions: every figure is an
integer count of minor units or of trades.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from services.analytics.domain.facts import Fact, FactKind
from services.analytics.domain.ratios import Ratio


class Bucket(NamedTuple):
    """Figures of one tenant (or a sum of tenants) over one window; integers, minor units."""

    data_sales_net: int = 0
    park_fees: int = 0
    data_sales_gross: int = 0
    data_spend: int = 0
    trades_sold: int = 0
    trades_bought: int = 0

    def plus(self, other: Bucket) -> Bucket:
        """Figure by figure, ``self + other``."""
        return Bucket(*(a + b for a, b in zip(self, other, strict=True)))

    def minus(self, other: Bucket) -> Bucket:
        """Figure by figure, ``self - other``."""
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
        """``self + other``, bucket and declared revenue alike."""
        return Figures(self.bucket.plus(other.bucket), self.declared + other.declared)

    def minus(self, other: Figures) -> Figures:
        """``self - other``, bucket and declared revenue alike."""
        return Figures(self.bucket.minus(other.bucket), self.declared - other.declared)

    def multiplier(self, places: int = 2) -> Ratio:
        """Revenue per unit of data-element spend (the park's "data multiplier")."""
        return Ratio.of(self.revenue, self.bucket.data_spend, places)


def total_figures(figures: Iterable[Figures]) -> Figures:
    """The sum of ``figures``."""
    total = Figures()
    for item in figures:
        total = total.plus(item)
    return total
