"""Demand pools: tiers, joining, closing at the tier reached (pure domain)."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parkos.errors import FailedPrecondition, InvalidArgument
from parkos.money import Money, apply_discount_bps

from services.trades.pools import MEMBERS_MAX, Pool, PoolStatus, VolumeTier, discount_for, tier_violations
from services.trades.settlement import OrderStatus
from services.trades.tenant_directory import FeeRate, KnownTenant, TenantStatus
from tests.unit.trades.trades_builders import ENERGY_RATE, NOW, SELLER, approved, ids, listed, tenant

TIERS = (VolumeTier(1, 0), VolumeTier(5, 2000), VolumeTier(10, 3500))
_keys = itertools.count()


def open_pool(product=None, tiers=TIERS) -> Pool:  # type: ignore[no-untyped-def]
    pool, _ = Pool.open(pool_id="pol_1", product=product or approved(price=Money(1_000_00, "CNY")), seller=SELLER,
                        tiers=tiers, closes_at=NOW + timedelta(hours=1), now=NOW)
    return pool


def join(pool: Pool, buyer: KnownTenant, product=None):  # type: ignore[no-untyped-def]
    return pool.joined(order_id=f"ord_{next(_keys)}", idempotency_key=f"join-key-{next(_keys):04d}",
                       product=product or approved(), buyer=buyer, seller=SELLER, already_member=False,
                       now=NOW + timedelta(minutes=1))


def buyers(count: int) -> list[KnownTenant]:
    return [tenant(f"ten_b{n}", sub_park_id="sp-ai") for n in range(count)]


def test_the_issues_tiers() -> None:
    assert [discount_for(TIERS, n) for n in (0, 1, 4, 5, 9, 10, 500)] == [0, 0, 0, 2000, 2000, 3500, 3500]
    assert discount_for((VolumeTier(3, 1000),), 2) == 0, "below the first tier the list price applies"


@pytest.mark.parametrize(
    ("tiers", "field"),
    [
        ((), "tiers"),
        (tuple(VolumeTier(n + 1, 0) for n in range(11)), "tiers"),
        ((VolumeTier(0, 0),), "tiers[0].min_buyers"),
        ((VolumeTier(5, 0), VolumeTier(5, 100)), "tiers[1].min_buyers"),
        ((VolumeTier(1, 9001),), "tiers[0].discount_bps"),
        ((VolumeTier(1, -1),), "tiers[0].discount_bps"),
        ((VolumeTier(1, 2000), VolumeTier(5, 1000)), "tiers[1].discount_bps"),
    ],
)
def test_bad_tiers_name_the_field(tiers: tuple[VolumeTier, ...], field: str) -> None:
    assert field in {v.field for v in tier_violations(tiers)}


def test_opening_needs_an_orderable_product_an_active_seller_and_a_sane_closing_time() -> None:
    with pytest.raises(FailedPrecondition, match="pending review"):
        open_pool(listed())
    with pytest.raises(FailedPrecondition, match="suspended"):
        Pool.open(pool_id="pol_1", product=approved(), seller=tenant("ten_seller", TenantStatus.SUSPENDED),
                  tiers=TIERS, closes_at=NOW + timedelta(hours=1), now=NOW)
    for closes_at in (None, NOW, NOW + timedelta(days=91)):
        with pytest.raises(InvalidArgument) as caught:
            Pool.open(pool_id="pol_1", product=approved(), seller=SELLER, tiers=TIERS, closes_at=closes_at, now=NOW)
        assert {v.field for v in caught.value.violations} == {"closes_at"}


def test_joining_raises_the_tier_and_a_closed_pool_refuses_members() -> None:
    pool = open_pool()
    for buyer in buyers(5):
        pool, order, event = join(pool, buyer)
        assert order.status is OrderStatus.POOL_PENDING and order.pool_id == pool.pool_id
        assert event.pool.members == pool.members
    assert (pool.members, pool.discount_bps, pool.unit_price) == (5, 2000, Money(800_00, "CNY"))
    with pytest.raises(FailedPrecondition, match="own product"):
        join(pool, SELLER)
    with pytest.raises(FailedPrecondition, match="closed"):
        pool.joined(order_id="ord_late", idempotency_key="late-key-01", product=approved(), buyer=buyers(6)[5],
                    seller=SELLER, already_member=False, now=pool.closes_at)
    with pytest.raises(FailedPrecondition, match="joined this pool already"):
        pool.joined(order_id="ord_again", idempotency_key="again-key-01", product=approved(), buyer=buyers(1)[0],
                    seller=SELLER, already_member=True, now=NOW)


def test_a_full_pool_refuses_members() -> None:
    full = replace(open_pool(), members=MEMBERS_MAX)
    with pytest.raises(FailedPrecondition, match="full"):
        join(full, buyers(1)[0])


def _close(pool, members, directory, *, product=None, seller=SELLER, rate=ENERGY_RATE):  # type: ignore[no-untyped-def]
    return pool.closed(members, product=product or approved(), seller=seller, buyers=directory, fee_rate=rate,
                       ids=ids, now=pool.closes_at)


def test_closing_settles_every_member_at_the_tier_reached() -> None:
    pool, members = open_pool(), []
    everyone = buyers(10)
    for buyer in everyone:
        pool, order, _ = join(pool, buyer)
        members.append(order)
    closed, orders, events = _close(pool, members, {b.tenant_id: b for b in everyone})
    assert closed.status is PoolStatus.CLOSED and (closed.members, closed.discount_bps) == (10, 3500)
    unit = apply_discount_bps(Money(1_000_00, "CNY"), 3500)
    assert all(o.status is OrderStatus.SETTLED and o.settlement.gross == unit for o in orders)
    kinds = [type(e).__name__ for e in events]
    assert kinds.count("TradeSettled") == 10 and kinds.count("OrderPlaced") == 10 and kinds[-1] == "PoolClosed"
    with pytest.raises(FailedPrecondition, match="closed already"):
        _close(closed, members, {})


def test_members_who_can_no_longer_buy_are_dropped_and_the_tier_follows_who_is_left() -> None:
    pool, members = open_pool(), []
    everyone = buyers(5)
    for buyer in everyone:
        pool, order, _ = join(pool, buyer)
        members.append(order)
    directory = {b.tenant_id: b for b in everyone}
    directory["ten_b0"] = tenant("ten_b0", TenantStatus.SUSPENDED)
    del directory["ten_b1"]  # gone from the directory altogether
    closed, orders, events = _close(pool, members, directory)
    assert (closed.members, closed.dropped_members, closed.discount_bps) == (3, 2, 0)
    by_status = {s: [o for o in orders if o.status is s] for s in OrderStatus}
    assert len(by_status[OrderStatus.SETTLED]) == 3 and len(by_status[OrderStatus.CANCELLED]) == 2
    assert [type(e).__name__ for e in events].count("OrderCancelled") == 2


@pytest.mark.parametrize("case", ["delisted", "seller suspended"])
def test_a_pool_whose_product_or_seller_cannot_trade_is_cancelled(case: str) -> None:
    pool, order, _ = join(open_pool(), buyers(1)[0])
    product, seller = approved(), SELLER
    if case == "delisted":
        product, _ = product.delisted("withdrawn", by_admin=True, now=NOW)
    else:
        seller = tenant("ten_seller", TenantStatus.SUSPENDED)
    closed, orders, events = _close(pool, [order], {b.tenant_id: b for b in buyers(1)}, product=product, seller=seller)
    assert closed.status is PoolStatus.CANCELLED and closed.members == 0 and closed.cancel_reason
    assert [o.status for o in orders] == [OrderStatus.CANCELLED]
    assert [type(e).__name__ for e in events] == ["OrderCancelled", "PoolClosed"]


def test_an_unknown_fee_rate_keeps_the_pool_waiting() -> None:
    pool, order, _ = join(open_pool(), buyers(1)[0])
    with pytest.raises(FailedPrecondition, match="fee rate"):
        _close(pool, [order], {b.tenant_id: b for b in buyers(1)}, rate=None)


tier_lists = st.lists(st.tuples(st.integers(1, 50), st.integers(0, 9000)), min_size=1, max_size=10).map(
    lambda raw: tuple(VolumeTier(m, d) for m, d in sorted({m: d for m, d in raw}.items()))
).map(lambda tiers: tuple(VolumeTier(t.min_buyers, max(x.discount_bps for x in tiers[: i + 1]))
                          for i, t in enumerate(tiers)))


@settings(max_examples=60, deadline=None)
@given(tiers=tier_lists, price=st.integers(1, 10**8), joined=st.integers(0, 40), bps=st.integers(0, 10_000))
def test_a_closed_pools_money_adds_up(tiers: tuple[VolumeTier, ...], price: int, joined: int, bps: int) -> None:
    assert tier_violations(tiers) == []
    product = approved(price=Money(price, "CNY"))
    pool, members = open_pool(product, tiers), []
    everyone = buyers(joined)
    for buyer in everyone:
        pool, order, _ = join(pool, buyer, product)
        members.append(order)
    closed, orders, _ = _close(pool, members, {b.tenant_id: b for b in everyone}, product=product,
                               rate=FeeRate("sp-energy", bps))
    unit = apply_discount_bps(Money(price, "CNY"), discount_for(tiers, joined))
    assert closed.unit_price == unit and len(orders) == joined
    for order in orders:
        s = order.settlement
        assert s.gross == unit and s.gross == s.fee + s.net and s.fee_bps == bps
    assert len({o.settlement.settlement_id for o in orders}) == joined
