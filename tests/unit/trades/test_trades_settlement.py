"""Orders, settlement and refunds (pure domain), with the money invariants as properties."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parkos.errors import FailedPrecondition, InvalidArgument
from parkos.money import Money

from services.trades.domain import PRICE_MAX_MINOR
from services.trades.settlement import Order, OrderStatus, check_idempotency_key
from services.trades.tenant_directory import FeeRate, TenantStatus
from tests.unit.trades.trades_builders import (
    BUYER, ENERGY_RATE, NOW, SELLER, approved, ids, listed, order, priced, tenant,
)


def test_an_order_settles_at_once_at_the_products_price() -> None:
    product = approved()
    placed, events = Order.place(order_id="ord_1", idempotency_key="key-00000001", product=product, buyer=BUYER,
                                 seller=SELLER, fee_rate=ENERGY_RATE, ids=ids(), now=NOW)
    s = placed.settlement
    assert placed.status is OrderStatus.SETTLED and s is not None
    assert (s.gross, s.fee, s.net, s.fee_bps) == (Money(12_000_00, "CNY"), Money(300_00, "CNY"),
                                                  Money(11_700_00, "CNY"), 250)
    assert [type(e).__name__ for e in events] == ["OrderPlaced", "TradeSettled"]
    assert placed.buyer == BUYER.placement and placed.seller == SELLER.placement
    assert placed.license is not None and placed.license.valid_until == NOW + timedelta(days=365)
    assert placed.license.permitted_uses == product.license.permitted_uses


@pytest.mark.parametrize(
    ("buyer", "product", "rate", "message"),
    [
        (None, None, ENERGY_RATE, "not known"),
        (tenant("ten_buyer", TenantStatus.SUSPENDED), None, ENERGY_RATE, "suspended"),
        (tenant("ten_buyer", TenantStatus.OFFBOARDED), None, ENERGY_RATE, "offboarded"),
        (BUYER, listed(), ENERGY_RATE, "pending review"),
        (SELLER, None, ENERGY_RATE, "own product"),
        (BUYER, None, None, "fee rate"),
        (BUYER, None, FeeRate("sp-ai", 100), "fee rate"),
    ],
)
def test_orders_that_cannot_be_placed(buyer, product, rate, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FailedPrecondition, match=message):
        Order.place(order_id="ord_1", idempotency_key="key-00000001", product=product or approved(), buyer=buyer,
                    seller=SELLER, fee_rate=rate, ids=ids(), now=NOW)


def test_a_suspended_seller_cannot_sell_and_the_buyer_learns_no_more() -> None:
    with pytest.raises(FailedPrecondition) as caught:
        Order.place(order_id="ord_1", idempotency_key="key-00000001", product=approved(), buyer=BUYER,
                    seller=tenant("ten_seller", TenantStatus.SUSPENDED), fee_rate=ENERGY_RATE, ids=ids(), now=NOW)
    assert "suspended" not in caught.value.message


@pytest.mark.parametrize("key", ["", "short", "k" * 129, "has space x", "emoji-🙂-key"])
def test_idempotency_keys_are_checked(key: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        check_idempotency_key(key)
    assert [v.field for v in caught.value.violations] == ["idempotency_key"]
    assert check_idempotency_key("retry:2025-03-01.ord_7") == "retry:2025-03-01.ord_7"


def test_a_refund_reverses_exactly_once_and_ends_the_license() -> None:
    placed = order()
    refunded, event = placed.refunded(reason="data was stale", idempotency_key="refund-0001", refund_id="rfd_1",
                                      actor="admin:a", now=NOW + timedelta(days=1))
    assert refunded.status is OrderStatus.REFUNDED and event is not None
    r, s = refunded.refund, refunded.settlement
    assert (r.gross, r.fee, r.net) == (s.gross, s.fee, s.net)
    assert refunded.license.revoked_at == NOW + timedelta(days=1)
    again, no_event = refunded.refunded(reason="retry", idempotency_key="refund-0001", refund_id="rfd_2",
                                        actor="admin:a", now=NOW)
    assert again is refunded and no_event is None, "the same key returns the first result"
    with pytest.raises(FailedPrecondition, match="refunded already"):
        refunded.refunded(reason="twice", idempotency_key="", refund_id="rfd_3", actor="admin:a", now=NOW)
    with pytest.raises(InvalidArgument):
        placed.refunded(reason="", idempotency_key="", refund_id="rfd_4", actor="admin:a", now=NOW)


prices = st.integers(min_value=1, max_value=PRICE_MAX_MINOR)
rates = st.integers(min_value=0, max_value=10_000)


@settings(max_examples=300)
@given(price=prices, bps=rates)
def test_every_settlement_splits_gross_into_fee_and_net_exactly(price: int, bps: int) -> None:
    placed = order(priced(price), rate=FeeRate("sp-energy", bps))
    s = placed.settlement
    assert s.gross == s.fee + s.net and s.gross == Money(price, "CNY")
    assert Money(0, "CNY") <= s.fee <= s.gross
    # the fee is the rate rounded half up to the fen: |fee * 10000 - gross * bps| <= 5000
    assert abs(s.fee.amount_minor * 10_000 - price * bps) <= 5_000


@settings(max_examples=100)
@given(amounts=st.lists(st.tuples(prices, rates, st.booleans()), min_size=1, max_size=30))
def test_refunds_net_to_zero_over_any_book(amounts: list[tuple[int, int, bool]]) -> None:
    settled = gross = fee = net = Money(0, "CNY")
    for number, (price, bps, refund) in enumerate(amounts):
        placed = order(priced(price), key=f"key-{number:08d}", rate=FeeRate("sp-energy", bps))
        s = placed.settlement
        settled, gross, fee, net = settled + s.gross, gross + s.gross, fee + s.fee, net + s.net
        if refund:
            refunded, _ = placed.refunded(reason="r", idempotency_key="", refund_id="rfd_x", actor="a", now=NOW)
            gross, fee, net = gross - refunded.refund.gross, fee - refunded.refund.fee, net - refunded.refund.net
    assert gross == fee + net
    expected = sum((p for p, _, r in amounts if not r), 0)
    assert gross == Money(expected, "CNY")


def test_a_pool_orders_settlement_uses_the_pools_price() -> None:
    pending = Order.pool_member(order_id="ord_p", idempotency_key="pool-key-01", product=approved(), buyer=BUYER,
                                seller=SELLER, pool_id="pol_1", list_price=Money(100_00, "CNY"), now=NOW)
    assert pending.status is OrderStatus.POOL_PENDING and pending.settlement is None
    with pytest.raises(FailedPrecondition, match="settled order"):
        pending.refunded(reason="x", idempotency_key="", refund_id="rfd_1", actor="a", now=NOW)
    settled, events = pending.settle_in_pool(Money(80_00, "CNY"), buyer=BUYER.placement, seller=SELLER.placement,
                                             rate=ENERGY_RATE, ids=ids(), now=NOW)
    assert settled.settlement.gross == Money(80_00, "CNY") and settled.settlement.fee == Money(2_00, "CNY")
    assert settled.version == 2 and [type(e).__name__ for e in events] == ["OrderPlaced", "TradeSettled"]
    with pytest.raises(FailedPrecondition):
        settled.settle_in_pool(Money(80_00, "CNY"), buyer=BUYER.placement, seller=SELLER.placement,
                               rate=ENERGY_RATE, ids=ids(), now=NOW)


def test_visibility() -> None:
    placed = order()
    assert placed.visible_to("ten_buyer") and placed.visible_to("ten_seller")
    assert not placed.visible_to("ten_other") and not placed.visible_to("")
