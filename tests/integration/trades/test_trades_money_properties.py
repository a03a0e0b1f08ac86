"""The park's money invariants as properties of the real service, checked against the store and Kafka.

Hypothesis draws random sequences of listings, orders (some retried, some concurrently),
pool openings and joins, and refunds, and runs them against the running trades service.
After each sequence (and once its pools have closed):

- every settlement in the store has gross = fee + net, the fee being the seller's
  sub-park rate of gross rounded half up;
- the TradeSettled events on Kafka for the sequence's orders, de-duplicated by event_id,
  are exactly the store's settlements (same orders, same gross, fee and net sums);
- every refund equals its settlement, and the OrderRefunded events equal the refunds, so
  a refunded order nets to zero;
- no order settles twice: one settlement per order in the store, one TradeSettled per
  order on Kafka, and every retry of an idempotency key returned the same order.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from park.trades.v1 import events_pb2, trades_pb2
from parkos.money import Money, apply_discount_bps, split_fee

from services.trades.pools import VolumeTier, discount_for
from tests.integration.trades.trades_park import (
    FEE_RATES, Trader, TradesPark, fresh_key, payloads, read_envelopes,
)

pytestmark = pytest.mark.infra

SELLER_PARKS = ("sp-energy", "sp-media", "sp-data-services")
TIERS = (VolumeTier(1, 0), VolumeTier(2, 1500), VolumeTier(3, 3000))
POOL_SECONDS = 3.0


@dataclass
class Cast:
    sellers: list[Trader]
    buyers: list[Trader]


@pytest.fixture(scope="module")
async def cast(trades_park: TradesPark) -> Cast:
    sellers = [await trades_park.trader(sub_park_id=park) for park in SELLER_PARKS]
    buyers = [await trades_park.trader(sub_park_id="sp-ai") for _ in range(3)]
    return Cast(sellers, buyers)


prices = st.one_of(st.integers(1, 99), st.integers(100, 10_000_000), st.just(9_999_999_99))
listings = st.tuples(st.just("list"), st.integers(0, 2), prices)
orders = st.tuples(st.just("order"), st.integers(0, 2), st.integers(0, 7), st.integers(1, 3))
joins = st.tuples(st.just("join"), st.integers(0, 2), st.integers(0, 3))
refunds = st.tuples(st.just("refund"), st.integers(0, 15))


@st.composite
def ops(draw: st.DrawFn) -> list[tuple]:  # type: ignore[type-arg]
    """Listings first, maybe a pool, then orders, joins, refunds and more listings interleaved at random."""
    head = draw(st.lists(listings, min_size=1, max_size=3))
    pools = draw(st.lists(st.tuples(st.just("open_pool"), st.integers(0, 7)), max_size=1))
    tail = draw(st.lists(orders, min_size=1, max_size=6)) + draw(st.lists(joins, max_size=4 if pools else 0))
    tail += draw(st.lists(refunds, max_size=3)) + draw(st.lists(listings, max_size=1))
    return head + pools + draw(st.permutations(tail))


@dataclass
class Run:
    """What one sequence did, as the model expects it."""

    products: list[tuple[trades_pb2.Product, Trader]] = field(default_factory=list)
    pools: list[trades_pb2.Pool] = field(default_factory=list)
    orders: dict[str, trades_pb2.Order] = field(default_factory=dict)  # order_id -> newest known
    refunded: set[str] = field(default_factory=set)
    joined: dict[str, list[str]] = field(default_factory=dict)  # pool_id -> order ids


def _closes_in(seconds: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(datetime.now(UTC) + timedelta(seconds=seconds))
    return stamp


async def _step(trades_park: TradesPark, cast: Cast, run: Run, op: tuple) -> None:  # type: ignore[type-arg]
    kind = op[0]
    if kind == "list":
        seller = cast.sellers[op[1]]
        product = await trades_park.approved_product(seller, price={"amount_minor": op[2], "currency": "CNY"})
        run.products.append((product, seller))
    elif kind == "order" and run.products:
        buyer, (product, seller) = cast.buyers[op[1]], run.products[op[2] % len(run.products)]
        request = trades_pb2.PlaceOrderRequest(idempotency_key=fresh_key(), product_id=product.product_id)
        # the first try and its retries race: a client that timed out and tried again
        results = await asyncio.gather(*(buyer.stub.PlaceOrder(request) for _ in range(op[3])))
        assert len({r.order_id for r in results}) == 1, "every retry of a key returns the first order"
        order = results[0]
        fee, net = split_fee(Money(product.price.amount_minor, "CNY"), FEE_RATES[seller.tenant.sub_park_id])
        assert (order.settlement.gross.amount_minor, order.settlement.fee.amount_minor,
                order.settlement.net.amount_minor) == (product.price.amount_minor, fee.amount_minor, net.amount_minor)
        run.orders[order.order_id] = order
    elif kind == "open_pool" and run.products:
        product, seller = run.products[op[1] % len(run.products)]
        pool = await seller.stub.OpenPool(trades_pb2.OpenPoolRequest(
            product_id=product.product_id, closes_at=_closes_in(POOL_SECONDS),
            tiers=[events_pb2.VolumeTier(min_buyers=t.min_buyers, discount_bps=t.discount_bps) for t in TIERS]))
        run.pools.append(pool)
        run.joined[pool.pool_id] = []
    elif kind == "join" and run.pools:
        buyer, pool = cast.buyers[op[1]], run.pools[op[2] % len(run.pools)]
        member = buyer.tenant_id in {run.orders[o].buyer.tenant_id for o in run.joined[pool.pool_id]}
        try:
            order = await buyer.stub.JoinPool(trades_pb2.JoinPoolRequest(idempotency_key=fresh_key("join"),
                                                                         pool_id=pool.pool_id))
        except grpc.aio.AioRpcError as error:  # a second membership, or the pool's time has come
            assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error.details()
            return
        assert not member, "a buyer joins a pool once"
        run.orders[order.order_id] = order
        run.joined[pool.pool_id].append(order.order_id)
    elif kind == "refund" and run.orders:
        order_id = sorted(run.orders)[op[1] % len(run.orders)]
        settled = run.orders[order_id].status == trades_pb2.ORDER_STATUS_SETTLED and order_id not in run.refunded
        try:
            refunded = await trades_park.admin.RefundOrder(trades_pb2.RefundOrderRequest(order_id=order_id,
                                                                                          reason="property test"))
        except grpc.aio.AioRpcError as error:
            assert not settled and error.code() == grpc.StatusCode.FAILED_PRECONDITION, error.details()
            return
        assert settled, "only a settled, unrefunded order can be refunded"
        run.refunded.add(order_id)
        run.orders[order_id] = refunded


async def _settle_pools(trades_park: TradesPark, run: Run) -> None:
    """Wait for the run's pools to close, then check each member paid the tier its pool reached."""
    for pool in run.pools:
        request = trades_pb2.GetPoolRequest(pool_id=pool.pool_id)

        async def closed() -> bool:
            return (await trades_park.admin.GetPool(request)).status != trades_pb2.POOL_STATUS_OPEN  # noqa: B023

        await trades_park.wait_for(closed, 30.0, "a pool never closed")
        final = await trades_park.admin.GetPool(request)
        members = run.joined[pool.pool_id]
        unit = apply_discount_bps(Money(pool.list_price.amount_minor, "CNY"), discount_for(TIERS, len(members)))
        assert final.members == len(members) and final.unit_price.amount_minor == unit.amount_minor
        for order_id in members:
            order = await trades_park.admin.GetOrder(trades_pb2.GetOrderRequest(order_id=order_id))
            assert order.status == trades_pb2.ORDER_STATUS_SETTLED
            assert order.settlement.gross.amount_minor == unit.amount_minor
            run.orders[order_id] = order


async def _check_books(trades_park: TradesPark, run: Run) -> None:
    order_ids = sorted(run.orders)
    db = trades_park.db
    settlements = await db.settlements.find({"order_id": {"$in": order_ids}}).to_list()
    refunds = await db.refunds.find({"order_id": {"$in": order_ids}}).to_list()
    settled_ids = [s["order_id"] for s in settlements]
    assert len(settled_ids) == len(set(settled_ids)), "no order settles twice in the store"
    assert set(settled_ids) == {o for o, order in run.orders.items() if order.HasField("settlement")}
    by_order = {s["order_id"]: s for s in settlements}
    for s in settlements:
        gross, fee, net = (s[k]["amount_minor"] for k in ("gross", "fee", "net"))
        assert gross == fee + net and abs(fee * 10_000 - gross * s["fee_bps"]) <= 5_000
    for r in refunds:
        s = by_order[r["order_id"]]
        assert all(r[k] == s[k] for k in ("gross", "fee", "net")), "a refund reverses its settlement exactly"
    assert {r["order_id"] for r in refunds} == run.refunded

    expected_events = 2 * len(settlements) + len(refunds)
    envelopes = await read_envelopes(trades_park.kafka_bootstrap, trades_park.trades_topic, keys=set(order_ids),
                                     expect=expected_events, timeout=30)
    unique = list({e.event_id: e for e in envelopes}.values())  # at-least-once: de-duplicate by event_id
    settled_events = payloads(unique, events_pb2.TradeSettled)
    refund_events = payloads(unique, events_pb2.OrderRefunded)
    assert sorted(e.order_id for e in settled_events) == sorted(settled_ids), "one TradeSettled per settled order"

    def total(rows, key):  # type: ignore[no-untyped-def]
        return sum(row[key]["amount_minor"] for row in rows)

    for key in ("gross", "fee", "net"):
        assert sum(getattr(e, key).amount_minor for e in settled_events) == total(settlements, key)
        assert sum(getattr(e, key).amount_minor for e in refund_events) == total(refunds, key)
    refunded_net = sum(by_order[r["order_id"]]["gross"]["amount_minor"] for r in refunds) - total(refunds, "gross")
    assert refunded_net == 0, "refunds net to zero"


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequence=ops())
async def test_the_books_always_balance(trades_park: TradesPark, cast: Cast, sequence: list[tuple]) -> None:  # type: ignore[type-arg]
    run = Run()
    for op in sequence:
        await _step(trades_park, cast, run, op)
    note(f"{len(run.orders)} orders, {len(run.pools)} pools, {len(run.refunded)} refunds")
    event("pool members" if any(run.joined.values()) else "no pool members")
    event("refunds" if run.refunded else "no refunds")
    await _settle_pools(trades_park, run)
    await _check_books(trades_park, run)
