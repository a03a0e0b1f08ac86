"""Demand pools on the real service: tiers, joining, the background close, two replicas, a crash."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from park.trades.v1 import events_pb2, trades_pb2
from parkos.clock import park_clock

from services.trades.main import TradesService
from services.trades.pool_closer import close_in, close_pool
from tests.integration.trades.trades_park import Trader, TradesPark, fresh_key, payloads

pytestmark = pytest.mark.infra

TIERS = [events_pb2.VolumeTier(min_buyers=1, discount_bps=0), events_pb2.VolumeTier(min_buyers=3, discount_bps=2000),
         events_pb2.VolumeTier(min_buyers=5, discount_bps=3500)]


def _in(seconds: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(datetime.now(UTC) + timedelta(seconds=seconds))
    return stamp


async def _open(trades_park: TradesPark, seller: Trader, seconds: float = 6.0) -> trades_pb2.Pool:
    """A pool closing in ``seconds``: long enough for the test's joins on a busy shared machine."""
    product = await trades_park.approved_product(seller, price={"amount_minor": 1_000_00, "currency": "CNY"})
    return await seller.stub.OpenPool(trades_pb2.OpenPoolRequest(product_id=product.product_id, tiers=TIERS,
                                                                 closes_at=_in(seconds)))


async def _join(buyer: Trader, pool: trades_pb2.Pool, key: str | None = None) -> trades_pb2.Order:
    return await buyer.stub.JoinPool(trades_pb2.JoinPoolRequest(idempotency_key=key or fresh_key("join"),
                                                                pool_id=pool.pool_id))


async def _until_due(pool: trades_pb2.Pool) -> None:
    await asyncio.sleep(max(0.0, pool.closes_at.ToDatetime(tzinfo=UTC).timestamp() - datetime.now(UTC).timestamp()))


async def _closed(trades_park: TradesPark, pool: trades_pb2.Pool, timeout: float = 20.0) -> trades_pb2.Pool:
    request = trades_pb2.GetPoolRequest(pool_id=pool.pool_id)

    async def done() -> bool:
        return (await trades_park.admin.GetPool(request)).status != trades_pb2.POOL_STATUS_OPEN

    await trades_park.wait_for(done, timeout, "the pool was never closed")
    return await trades_park.admin.GetPool(request)


async def test_every_member_settles_at_the_tier_reached(trades_park: TradesPark) -> None:
    seller = await trades_park.trader(sub_park_id="sp-energy")
    buyers = [await trades_park.trader() for _ in range(3)]
    pool = await _open(trades_park, seller)
    assert (pool.status, pool.members, pool.unit_price.amount_minor) == (trades_pb2.POOL_STATUS_OPEN, 0, 1_000_00)
    key = fresh_key("join")
    first = await _join(buyers[0], pool, key)
    assert first.status == trades_pb2.ORDER_STATUS_POOL_PENDING and not first.HasField("settlement")
    assert await _join(buyers[0], pool, key) == first, "a retried join returns the first result"
    with pytest.raises(grpc.aio.AioRpcError) as caught:  # a second membership under another key
        await _join(buyers[0], pool)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    orders = [first, *[await _join(b, pool) for b in buyers[1:]]]
    opened = await trades_park.admin.GetPool(trades_pb2.GetPoolRequest(pool_id=pool.pool_id))
    assert (opened.members, opened.discount_bps, opened.unit_price.amount_minor) == (3, 2000, 800_00)

    closed = await _closed(trades_park, pool)
    assert (closed.status, closed.members, closed.discount_bps) == (trades_pb2.POOL_STATUS_CLOSED, 3, 2000)
    for order, buyer in zip(orders, buyers, strict=True):
        settled = await buyer.stub.GetOrder(trades_pb2.GetOrderRequest(order_id=order.order_id))
        s = settled.settlement
        assert settled.status == trades_pb2.ORDER_STATUS_SETTLED and settled.pool_id == pool.pool_id
        assert (s.gross.amount_minor, s.fee.amount_minor, s.net.amount_minor, s.fee_bps) == (800_00, 20_00, 780_00, 250)

    pool_events = await trades_park.events([pool.pool_id], expect=5)
    assert [e.type.rsplit(".", 1)[1] for e in pool_events] == [
        "PoolOpened", "PoolJoined", "PoolJoined", "PoolJoined", "PoolClosed"]
    [pool_closed] = payloads(pool_events, events_pb2.PoolClosed)
    assert (pool_closed.members, pool_closed.discount_bps, pool_closed.unit_price.amount_minor) == (3, 2000, 800_00)
    order_events = await trades_park.events([o.order_id for o in orders], expect=6)
    settled_events = payloads(order_events, events_pb2.TradeSettled)
    assert sorted(e.order_id for e in settled_events) == sorted(o.order_id for o in orders)
    assert all(e.pool_id == pool.pool_id and e.gross.amount_minor == 800_00 for e in settled_events)

    late = await trades_park.trader()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _join(late, pool)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_members_who_can_no_longer_buy_are_dropped_at_close(trades_park: TradesPark) -> None:
    seller, stays, leaves = await trades_park.trader(), await trades_park.trader(), await trades_park.trader()
    pool = await _open(trades_park, seller)
    kept, dropped = await _join(stays, pool), await _join(leaves, pool)
    await trades_park.set_status(leaves, "suspended")
    closed = await _closed(trades_park, pool)
    assert (closed.status, closed.members, closed.discount_bps) == (trades_pb2.POOL_STATUS_CLOSED, 1, 0)
    assert (await stays.stub.GetOrder(trades_pb2.GetOrderRequest(order_id=kept.order_id))).settlement.gross.amount_minor == 1_000_00
    cancelled = await trades_park.admin.GetOrder(trades_pb2.GetOrderRequest(order_id=dropped.order_id))
    assert cancelled.status == trades_pb2.ORDER_STATUS_CANCELLED and not cancelled.HasField("settlement")
    assert await trades_park.db.settlements.count_documents({"order_id": dropped.order_id}) == 0


async def test_two_replicas_racing_to_close_settle_each_member_once(
    trades_park: TradesPark, trades_replica: TradesService
) -> None:
    seller = await trades_park.trader()
    buyers = [await trades_park.trader() for _ in range(5)]
    pool = await _open(trades_park, seller, seconds=8.0)
    orders = [await _join(b, pool) for b in buyers]
    await _until_due(pool)
    # both replicas' background closers race with four direct closes on both stores
    stores = [trades_park.service.store, trades_replica.store] * 2  # type: ignore[attr-defined]
    results = await asyncio.gather(*(close_pool(store, pool.pool_id, now=park_clock()) for store in stores))
    closed = await _closed(trades_park, pool)
    assert (closed.members, closed.discount_bps) == (5, 3500)
    assert sum(result is not None for result in results) <= 1
    ids = [o.order_id for o in orders]
    assert await trades_park.db.settlements.count_documents({"order_id": {"$in": ids}}) == 5
    assert await trades_park.db.outbox.count_documents({"key": pool.pool_id, "type": "park.trades.v1.PoolClosed"}) == 1
    assert await trades_park.db.outbox.count_documents({"key": {"$in": ids}, "type": "park.trades.v1.TradeSettled"}) == 5


class _Crash(Exception):
    """The process dies after the close's writes and before the commit."""


async def test_a_crash_in_the_middle_of_a_close_leaves_the_pool_to_be_closed_again(trades_park: TradesPark) -> None:
    service = trades_park.service
    await service.pool_closer.stop()  # type: ignore[attr-defined]  # this test closes the pool itself
    try:
        seller, buyer = await trades_park.trader(), await trades_park.trader()
        pool = await _open(trades_park, seller, seconds=4.0)
        order = await _join(buyer, pool)
        await _until_due(pool)
        store = service.store  # type: ignore[attr-defined]

        async def close_then_die(tx):  # type: ignore[no-untyped-def]
            assert await close_in(tx, pool.pool_id, now=park_clock()) is not None
            raise _Crash

        with pytest.raises(_Crash):
            await store.transaction(close_then_die, correlation_id=None)
        still = await trades_park.admin.GetPool(trades_pb2.GetPoolRequest(pool_id=pool.pool_id))
        assert still.status == trades_pb2.POOL_STATUS_OPEN
        assert await trades_park.db.settlements.count_documents({"order_id": order.order_id}) == 0
        assert await trades_park.db.outbox.count_documents({"key": {"$in": [pool.pool_id, order.order_id]},
                                                            "type": {"$ne": "park.trades.v1.PoolOpened"},
                                                            "value": {"$exists": True}}) == 1  # PoolJoined only
    finally:
        await service.pool_closer.start()  # type: ignore[attr-defined]
    closed = await _closed(trades_park, pool)
    assert closed.status == trades_pb2.POOL_STATUS_CLOSED and closed.members == 1
    assert await trades_park.db.settlements.count_documents({"order_id": order.order_id}) == 1


async def test_bad_pools_are_refused_and_write_nothing(trades_park: TradesPark) -> None:
    seller, other = await trades_park.trader(), await trades_park.trader()
    product = await trades_park.approved_product(seller)
    before = await trades_park.counts()
    cases = [
        (seller, {"tiers": [], "closes_at": _in(60)}, grpc.StatusCode.INVALID_ARGUMENT),
        (seller, {"tiers": TIERS}, grpc.StatusCode.INVALID_ARGUMENT),
        (seller, {"tiers": TIERS, "closes_at": _in(-60)}, grpc.StatusCode.INVALID_ARGUMENT),
        (seller, {"tiers": [TIERS[1], TIERS[0]], "closes_at": _in(60)}, grpc.StatusCode.INVALID_ARGUMENT),
        (seller, {"tiers": TIERS, "closes_at": Timestamp(seconds=10**12)}, grpc.StatusCode.INVALID_ARGUMENT),
        (seller, {"tiers": TIERS, "closes_at": Timestamp(seconds=2_000_000_000, nanos=-1)}, grpc.StatusCode.INVALID_ARGUMENT),
        (other, {"tiers": TIERS, "closes_at": _in(60)}, grpc.StatusCode.PERMISSION_DENIED),
    ]
    for who, fields, code in cases:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await who.stub.OpenPool(trades_pb2.OpenPoolRequest(product_id=product.product_id, **fields))
        assert caught.value.code() == code, fields
    assert await trades_park.counts() == before


async def test_pools_that_cannot_close_yet_do_not_keep_the_others_from_closing(
    trades_park: TradesPark, trades_replica: TradesService
) -> None:
    from services.trades.pool_closer import PoolCloser

    replicas = [trades_park.service, trades_replica]
    for replica in replicas:
        await replica.pool_closer.stop()  # type: ignore[attr-defined]  # this test's closer alone looks
    try:
        unrated = await trades_park.trader(sub_park_id="sp-unrated")  # no trade-fee rate known for it
        stuck = [await _open(trades_park, unrated, seconds=3.0) for _ in range(3)]
        good = await _open(trades_park, await trades_park.trader(), seconds=3.5)  # due after the stuck ones
        await _until_due(good)
        later = [timedelta(0)]
        closer = PoolCloser(trades_park.service.store, clock=lambda: park_clock() + later[0],  # type: ignore[attr-defined]
                            batch=2, waiting_retry=timedelta(seconds=30))
        assert await closer.close_due() == 1
        assert (await trades_park.admin.GetPool(trades_pb2.GetPoolRequest(pool_id=good.pool_id))).status == \
            trades_pb2.POOL_STATUS_CLOSED
        for pool in stuck:
            still = await trades_park.admin.GetPool(trades_pb2.GetPoolRequest(pool_id=pool.pool_id))
            assert still.status == trades_pb2.POOL_STATUS_OPEN
        await trades_park.set_fee("sp-unrated", 100)  # the rate arrives: they close too,
        assert await closer.close_due() == 0  # once their wait before the next try is over
        later[0] = timedelta(seconds=31)
        assert await closer.close_due() == 3
    finally:
        for replica in replicas:
            await replica.pool_closer.start()  # type: ignore[attr-defined]
