"""Ledger arithmetic: settlements, refunds, windows, declared revenue, placement, the multiplier."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pytest

from services.analytics.domain.facts import (
    Fact,
    FactKind,
    InvalidFact,
    Placement,
    ProfileSnapshot,
    RevenueDeclaration,
    Role,
    Settlement,
    fact_id_for,
    fact_of_declaration,
    fact_of_profile,
    facts_of_settlement,
)
from services.analytics.domain.ledger import TenantLedger, apply_fact
from services.analytics.domain.ratios import Ratio, decimal_string, parse_decimal, round_half_up
from services.analytics.domain.revenue import Bucket, Figures
from services.analytics.domain.valuation import ValuationPolicy

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
POLICY = ValuationPolicy()
SELLER = Placement("ten_seller", "sp-energy", "sec-digital-energy")
BUYER = Placement("ten_buyer", "sp-ai", "sec-ai-model-services")


def settlement(event_id: str = "e1", gross: int = 10_000, fee: int = 300, *, at: int = T0, refund: bool = False,
               buyer: Placement = BUYER, seller: Placement = SELLER, level: int = 2) -> Settlement:
    return Settlement(
        source_event_id=event_id, order_id=f"ord-{event_id}", buyer=buyer, seller=seller, gross=gross, fee=fee,
        net=gross - fee, currency="CNY", classification_level=level, occurred_at_ms=at, refund=refund,
    )


def run(facts: list[Fact], tenant_id: str, policy: ValuationPolicy = POLICY) -> TenantLedger:
    ledger = TenantLedger(tenant_id)
    for offset, fact in enumerate(facts):
        if fact.tenant_id != tenant_id:
            continue
        applied = apply_fact(ledger, fact, offset, policy)
        assert applied is not None
        ledger = applied.ledger
    return ledger


def test_a_settlement_splits_into_the_sellers_sale_and_the_buyers_purchase() -> None:
    sale, purchase = facts_of_settlement(settlement())
    assert (sale.kind, sale.tenant_id, sale.counterparty_id) == (FactKind.SALE, "ten_seller", "ten_buyer")
    assert (purchase.kind, purchase.tenant_id, purchase.counterparty_id) == (FactKind.PURCHASE, "ten_buyer", "ten_seller")
    assert sale.fact_id == fact_id_for("e1", Role.SELLER) != purchase.fact_id
    # the same event always yields the same ids: a re-split is recognisable
    assert [f.fact_id for f in facts_of_settlement(settlement())] == [sale.fact_id, purchase.fact_id]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"gross": 100, "fee": 10, "net": 80}, "gross"),
        ({"gross": -5, "fee": 0, "net": -5}, "gross"),
        ({"currency": "cny"}, "currency"),
        ({"buyer": SELLER}, "buyer is its seller"),
        ({"buyer": Placement("")}, "tenant_id"),
        ({"classification_level": 7}, "classification"),
    ],
)
def test_a_malformed_settlement_is_refused(change: dict, message: str) -> None:
    with pytest.raises(InvalidFact, match=message):
        facts_of_settlement(replace(settlement(), **change))


def test_settlements_add_and_refunds_subtract_all_three_amounts() -> None:
    facts = [
        *facts_of_settlement(settlement("e1", 10_000, 300)),
        *facts_of_settlement(settlement("e2", 5_000, 150)),
        *facts_of_settlement(settlement("e3", 10_000, 300, refund=True)),
    ]
    seller, buyer = run(facts, "ten_seller"), run(facts, "ten_buyer")
    assert seller.all_time == Bucket(data_sales_net=4_850, park_fees=150, data_sales_gross=5_000, trades_sold=1)
    assert buyer.all_time == Bucket(data_spend=5_000, trades_bought=1)
    assert seller.distinct_buyers == 1 and seller.buyers == {"ten_buyer": 1}


def test_a_refund_of_every_order_leaves_nothing_and_no_buyer() -> None:
    facts = [*facts_of_settlement(settlement("e1")), *facts_of_settlement(settlement("e2", refund=True))]
    seller = run(facts, "ten_seller")
    assert seller.all_time == Bucket() and seller.distinct_buyers == 0 and seller.buyers == {}


def test_hour_and_day_buckets_follow_event_time_and_old_ones_are_dropped() -> None:
    policy = ValuationPolicy(hour_retention=2, window_days=1, day_retention=2)
    facts = [
        *facts_of_settlement(settlement("e1", at=T0)),
        *facts_of_settlement(settlement("e2", at=T0 + HOUR_MS + 5)),
        *facts_of_settlement(settlement("e3", at=T0 + 2 * HOUR_MS)),
        *facts_of_settlement(settlement("e4", at=T0 - 5 * DAY_MS)),  # late: all-time only
    ]
    seller = run(facts, "ten_seller", policy)
    assert sorted(seller.hours) == [(T0 + HOUR_MS) // 1000, (T0 + 2 * HOUR_MS) // 1000]
    assert seller.days == {T0 // 1000: Bucket(29_100, 900, 30_000, 0, 3, 0)}
    assert seller.all_time.trades_sold == 4
    assert seller.hour_figures((T0 + HOUR_MS) // 1000).revenue == 9_700


def test_a_revenue_correction_replaces_the_previous_version_and_an_older_one_changes_nothing() -> None:
    def declared(event_id: str, period: str, version: int, amount: int) -> Fact:
        return fact_of_declaration(RevenueDeclaration(event_id, SELLER, period, version, amount, "CNY", T0))

    facts = [
        declared("r1", "2025-01", 1, 1_000_000),
        declared("r2", "2025-02", 1, 500_000),
        declared("r3", "2025-01", 2, 1_300_000),
        declared("r1-late", "2025-01", 1, 999),  # an old version arriving late
        *facts_of_settlement(settlement("e1", 10_000, 300)),
    ]
    seller = run(facts, "ten_seller")
    assert seller.declared == {"2025-01": (2, 1_300_000), "2025-02": (1, 500_000)}
    assert seller.figures().revenue == 1_800_000 + 9_700
    assert seller.figures().declared == 1_800_000


def test_the_registry_snapshot_decides_placement_and_the_newest_version_wins() -> None:
    def profile(event_id: str, sub_park: str, version: int) -> Fact:
        return fact_of_profile(ProfileSnapshot(event_id, Placement("ten_seller", sub_park, "sec-x"), "Co", "active",
                                               version, T0))

    facts = [*facts_of_settlement(settlement("e1")), profile("p2", "sp-new", 2), profile("p1", "sp-old", 1)]
    seller = run(facts, "ten_seller")
    assert (seller.sub_park_id, seller.profile_version, seller.legal_name) == ("sp-new", 2, "Co")


def test_an_offset_already_applied_is_skipped() -> None:
    sale, _ = facts_of_settlement(settlement())
    ledger = apply_fact(TenantLedger("ten_seller"), sale, 7, POLICY).ledger  # type: ignore[union-attr]
    assert apply_fact(ledger, sale, 7, POLICY) is None
    assert apply_fact(ledger, sale, 3, POLICY) is None


def test_a_fact_in_another_currency_is_refused() -> None:
    sale, _ = facts_of_settlement(settlement())
    ledger = apply_fact(TenantLedger("ten_seller"), sale, 1, POLICY).ledger  # type: ignore[union-attr]
    other = replace(sale, currency="USD", fact_id="x")
    with pytest.raises(InvalidFact, match="USD"):
        apply_fact(ledger, other, 2, POLICY)


def test_the_multiplier_is_an_exact_ratio_with_a_rounded_decimal() -> None:
    figures = Figures(Bucket(data_sales_net=78_000, data_spend=10_000), declared=0)
    assert figures.multiplier() == Ratio(78_000, 10_000, "7.80", 2)
    assert Figures(Bucket(data_sales_net=2, data_spend=3)).multiplier().decimal == "0.67"
    assert Figures(Bucket(data_sales_net=5)).multiplier() == Ratio(5, 0, "", 2)
    assert Figures(Bucket(data_sales_net=-1, data_spend=3)).multiplier().decimal == "-0.33"


def test_rounding_and_decimals_are_exact() -> None:
    assert round_half_up(Fraction(5, 2)) == 3 and round_half_up(Fraction(-5, 2)) == -3
    assert round_half_up(Fraction(7, 3)) == 2
    assert decimal_string(Fraction(1, 8), 2) == "0.13"
    assert parse_decimal("2.75") == Fraction(11, 4) and parse_decimal("3") == 3
    for bad in ("1e3", "-1", "2.", "", "0x10", "1.5.2"):
        with pytest.raises(ValueError):
            parse_decimal(bad)


def test_an_hour_or_day_is_complete_only_while_every_tenant_still_keeps_it() -> None:
    from services.analytics.domain.windows import day_kept, hour_kept

    now = 1_800_000_000_000  # ms
    hour, day = 3_600_000, 86_400_000
    assert hour_kept(now, now, 48) and hour_kept(now - 47 * hour, now, 48)
    assert not hour_kept(now - 48 * hour - hour, now, 48)
    assert day_kept(now - 89 * day, now, 90) and not day_kept(now - 91 * day, now, 90)


def test_a_window_has_begun_once_its_start_is_reached_give_or_take_a_minute_of_skew() -> None:
    from services.analytics.domain.windows import has_begun, hour_start

    now = 1_800_000_000_000  # ms
    this_hour = hour_start(now)
    assert has_begun(this_hour, now) and has_begun(this_hour - 3_600, now)
    assert not has_begun(this_hour + 3_600, now)
    next_hour_ms = (this_hour + 3_600) * 1000
    assert has_begun(this_hour + 3_600, next_hour_ms - 30_000)  # a clock 30 s ahead of this host's
    assert not has_begun(this_hour + 3_600, next_hour_ms - 90_000)


# --- time passing: CLOCK facts --------------------------------------------------------------------


def test_a_tenant_that_stops_selling_is_valued_down_as_its_window_moves_past_its_sales() -> None:
    from services.analytics.domain.facts import clock_fact
    from services.analytics.domain.ledger import decide, revalued_by_clock

    sale, _ = facts_of_settlement(settlement(gross=1_000_000, fee=0, at=T0))
    ledger = run([sale], "ten_seller")
    assert ledger.valuation is not None and ledger.valuation.valuation > 0
    assert not revalued_by_clock(ledger, T0 + 10 * DAY_MS, POLICY)  # still inside the 90-day window
    later = T0 + (POLICY.window_days + 1) * DAY_MS
    assert revalued_by_clock(ledger, later, POLICY)
    tick = clock_fact("ten_seller", later)
    assert tick.fact_id == clock_fact("ten_seller", later).fact_id  # any worker, any run: one fact
    decision = decide(ledger, None, tick, 7, POLICY)
    assert decision.ledger is not None and decision.publish is not None
    assert (decision.publish.valuation, decision.publish.credit_line_hint) == (0, 0)
    assert decision.publish.previous == ledger.valuation.valuation and decision.publish.valued_at_ms == later
    assert decision.ledger.all_time == ledger.all_time  # the sale still counts all-time
    assert decision.ledger.facts_applied == ledger.facts_applied and decision.ledger.applied_offset == 7
    assert not decision.remember_offset  # no id memory: a copy finds the watermark at its instant
    copy = decide(decision.ledger, None, tick, 8, POLICY)  # the same fact again, from another worker
    assert copy.ledger is None and copy.publish is None and copy.duplicate  # counted as a duplicate
    unchanged = decide(ledger, None, clock_fact("ten_seller", T0 + 10 * DAY_MS), 9, POLICY)
    assert unchanged.ledger is None  # a tick from an outdated copy that changes nothing writes nothing
    replayed = decide(decision.ledger, 7, tick, 7, POLICY)  # read again after a crash
    assert replayed.ledger is None and replayed.publish == decision.publish


def test_a_clock_fact_makes_no_ledger_and_moves_no_ledger_back() -> None:
    from services.analytics.domain.facts import clock_fact
    from services.analytics.domain.ledger import decide

    assert decide(None, None, clock_fact("ten_new", T0), 3, POLICY).ledger is None  # nobody valued: nothing
    sale, _ = facts_of_settlement(settlement(at=T0 + DAY_MS))
    ledger = run([sale], "ten_seller")
    assert decide(ledger, None, clock_fact("ten_seller", T0), 9, POLICY).ledger is None  # behind the watermark


async def test_the_timer_sends_clock_facts_only_for_tenants_whose_value_the_time_changes() -> None:
    from types import SimpleNamespace

    from services.analytics.handlers import Counters, send_clock_facts
    from services.analytics.records import fact_from_envelope

    stale_sale, _ = facts_of_settlement(settlement("old", gross=1_000_000, fee=0, at=T0))
    fresh_seller = Placement("ten_fresh", "sp-ai", "sec-ai-model-services")
    fresh_sale, _ = facts_of_settlement(settlement("new", gross=1_000_000, fee=0, at=T0 + 95 * DAY_MS,
                                                   seller=fresh_seller))
    ledgers = {"ten_seller": run([stale_sale], "ten_seller"), "ten_fresh": run([fresh_sale], "ten_fresh"),
               "ten_buyer_only": TenantLedger("ten_buyer_only")}
    sent: list[tuple[str, str, object]] = []

    async def send(topic: str, key: str, envelope: object) -> None:
        sent.append((topic, key, envelope))

    outputs = SimpleNamespace(topics=SimpleNamespace(facts_name="facts"), send=send, counters=Counters())
    tables = SimpleNamespace(ledgers=ledgers)
    at = T0 + 96 * DAY_MS  # the old sale has left the 90-day window, the new one has not
    assert await send_clock_facts(tables, outputs, POLICY, at, owned=lambda t: t != "ten_seller") == 0  # type: ignore[arg-type]
    assert await send_clock_facts(tables, outputs, POLICY, at) == 1  # type: ignore[arg-type]
    [(topic, key, envelope)] = sent
    fact = fact_from_envelope(envelope)  # type: ignore[arg-type]
    assert (topic, key, fact.kind, fact.tenant_id, fact.occurred_at_ms) == ("facts", "ten_seller", FactKind.CLOCK,
                                                                            "ten_seller", at)
    assert outputs.counters.clock_facts == 1
