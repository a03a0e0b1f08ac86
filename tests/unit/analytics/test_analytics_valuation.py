"""The data-asset valuation (income approach): formula, quality factor, credit line, when it publishes."""

from __future__ import annotations

from fractions import Fraction

import pytest

from services.analytics.domain.facts import (
    Placement,
    RevenueDeclaration,
    Settlement,
    fact_of_declaration,
    facts_of_settlement,
)
from services.analytics.domain.ledger import TenantLedger, apply_fact
from services.analytics.domain.ratios import round_half_up
from services.analytics.domain.valuation import ValuationPolicy, valuation_event_id, value_of

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
DAY_MS = 86_400_000
SELLER = Placement("ten_seller", "sp-energy", "sec-digital-energy")


def sale(event_id: str, buyer: str, gross: int, *, at: int = T0, level: int = 2, refund: bool = False):  # type: ignore[no-untyped-def]
    settlement = Settlement(event_id, f"o-{event_id}", Placement(buyer), SELLER, gross, gross // 10, gross - gross // 10,
                            "CNY", level, at, refund)
    return facts_of_settlement(settlement)[0]


def ledger_after(facts, policy: ValuationPolicy = ValuationPolicy()):  # type: ignore[no-untyped-def]
    ledger, published = TenantLedger("ten_seller"), []
    for offset, fact in enumerate(facts):
        applied = apply_fact(ledger, fact, offset, policy)
        assert applied is not None
        ledger = applied.ledger
        if applied.published:
            published.append(applied.published)
    return ledger, published


def test_valuation_is_annualised_trailing_net_times_multiple_times_quality() -> None:
    policy = ValuationPolicy(window_days=90, capitalization_multiple="2.5", compliance_bps={0: 9000, 2: 10000})
    facts = [sale(f"e{i}", f"ten_b{i % 3}", 100_000, at=T0 + i * DAY_MS) for i in range(6)]
    ledger, _ = ledger_after(facts, policy)
    valuation, trailing, quality, credit = value_of(ledger, policy)
    assert trailing == 6 * 90_000
    assert quality == 6000  # 3 distinct buyers: 5000 + 2 x 500; level 2: x 1.0
    expected = round_half_up(Fraction(trailing * 365, 90) * Fraction(5, 2) * Fraction(6000, 10_000))
    assert valuation == expected == 3_285_000
    assert credit == min(round_half_up(Fraction(valuation * 3000, 10_000)), ledger.all_time.data_sales_net)


def test_the_credit_line_is_capped_by_revenue_history() -> None:
    policy = ValuationPolicy(advance_rate_bps=10_000, capitalization_multiple="10")
    ledger, _ = ledger_after([sale("e1", "ten_b", 100_000)], policy)
    valuation, _trailing, _quality, credit = value_of(ledger, policy)
    assert valuation > ledger.all_time.data_sales_net
    assert credit == ledger.all_time.data_sales_net == 90_000


def test_declared_revenue_raises_the_credit_cap_but_not_the_valuation() -> None:
    policy = ValuationPolicy(advance_rate_bps=10_000, capitalization_multiple="10")
    declared = fact_of_declaration(RevenueDeclaration("r1", SELLER, "2025-12", 1, 5_000_000, "CNY", T0))
    before, _ = ledger_after([sale("e1", "ten_b", 100_000)], policy)
    after, _ = ledger_after([sale("e1", "ten_b", 100_000), declared], policy)
    assert value_of(before, policy)[0] == value_of(after, policy)[0]
    assert value_of(after, policy)[3] > value_of(before, policy)[3]


def test_only_the_trailing_window_counts() -> None:
    policy = ValuationPolicy(window_days=30)
    old_and_new = [sale("old", "ten_b", 500_000, at=T0), sale("new", "ten_b", 100_000, at=T0 + 45 * DAY_MS)]
    ledger, _ = ledger_after(old_and_new, policy)
    assert value_of(ledger, policy)[1] == 90_000


@pytest.mark.parametrize(("buyers", "factor"), [(0, 0), (1, 5000), (2, 5500), (11, 10_000), (50, 10_000)])
def test_buyers_factor(buyers: int, factor: int) -> None:
    assert ValuationPolicy().buyers_factor_bps(buyers) == factor


def test_higher_classification_levels_are_worth_more() -> None:
    policy = ValuationPolicy()
    assert [policy.quality_bps(11, level) for level in range(5)] == [9000, 9000, 10000, 11000, 12000]


def test_a_valuation_is_published_only_when_it_changes_with_an_id_derived_from_its_fact() -> None:
    facts = [sale("e1", "ten_b1", 100_000), sale("e2", "ten_b1", 0), sale("e3", "ten_b2", 100_000)]
    ledger, published = ledger_after(facts)
    # e2 adds no revenue and no new buyer: value unchanged, nothing published
    assert [v.source_event_id for v in published] == ["e1", "e3"]
    assert published[0].event_id == valuation_event_id(facts[0].fact_id)
    assert published[1].previous == published[0].valuation
    assert ledger.valuation == published[-1] and ledger.history == tuple(published)


def test_refunding_everything_publishes_a_zero_valuation() -> None:
    facts = [sale("e1", "ten_b1", 100_000), sale("e2", "ten_b1", 100_000, refund=True)]
    _ledger, published = ledger_after(facts)
    assert [v.valuation for v in published][-1] == 0


def test_history_is_bounded() -> None:
    policy = ValuationPolicy(history_limit=3)
    ledger, published = ledger_after([sale(f"e{i}", f"ten_b{i}", 1000 * (i + 1)) for i in range(8)], policy)
    assert len(published) == 8 and ledger.history == tuple(published[-3:])
