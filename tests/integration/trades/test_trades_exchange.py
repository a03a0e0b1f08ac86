"""The exchange end to end on the real service: listing, review, catalog, orders, refunds, events."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import grpc
import pytest
from park.trades.v1 import events_pb2, trades_pb2
from parkos.auth import Role

from tests.integration.trades.trades_park import TradesPark, fresh_key, listing, payloads

pytestmark = pytest.mark.infra


def cny(amount_minor: int) -> dict:
    return {"amount_minor": amount_minor, "currency": "CNY"}


async def test_a_product_is_listed_reviewed_found_and_bought(trades_park: TradesPark) -> None:
    seller = await trades_park.trader(sub_park_id="sp-energy", sector_id="sec-digital-energy")
    buyer = await trades_park.trader(sub_park_id="sp-ai", sector_id="sec-ai-model-services")
    listed = await seller.stub.ListProduct(listing(title="Coking furnace telemetry", price=cny(8_888_88)))
    assert listed.status == trades_pb2.PRODUCT_STATUS_PENDING_REVIEW and not listed.orderable
    assert listed.seller_tenant_id == seller.tenant_id and listed.sector_id == "sec-digital-energy"

    # before the review buyers neither see nor can order it
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await buyer.stub.GetProduct(trades_pb2.GetProductRequest(product_id=listed.product_id))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await buyer.stub.PlaceOrder(trades_pb2.PlaceOrderRequest(idempotency_key=fresh_key(),
                                                                 product_id=listed.product_id))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND  # as unknown to its orders as to GetProduct

    approved = await trades_park.admin.ReviewProduct(trades_pb2.ReviewProductRequest(
        product_id=listed.product_id, decision=trades_pb2.REVIEW_DECISION_APPROVE))
    assert approved.orderable and approved.review.approved and approved.review.reviewed_by == "admin:test-operator"
    found = await buyer.stub.SearchCatalog(trades_pb2.SearchCatalogRequest(
        text="furnace TELEMETRY", sector_id="sec-digital-energy", seller_tenant_id=seller.tenant_id,
        min_price=cny(8_000_00), max_price=cny(9_000_00)))
    assert [p.product_id for p in found.products] == [listed.product_id]

    key = fresh_key()
    order = await buyer.stub.PlaceOrder(trades_pb2.PlaceOrderRequest(idempotency_key=key, product_id=listed.product_id))
    s = order.settlement
    assert order.status == trades_pb2.ORDER_STATUS_SETTLED
    assert (s.gross.amount_minor, s.fee.amount_minor, s.net.amount_minor, s.fee_bps) == (8_888_88, 222_22, 8_666_66, 250)
    assert (order.buyer.tenant_id, order.buyer.sub_park_id, order.seller.sub_park_id) == (
        buyer.tenant_id, "sp-ai", "sp-energy")
    assert order.license.permitted_uses == [trades_pb2.PERMITTED_USE_INTERNAL_ANALYTICS]
    assert order.license.valid_until.seconds - order.license.valid_from.seconds == 365 * 86_400

    events = await trades_park.events([listed.product_id, order.order_id], expect=4)
    assert [e.type for e in events if e.aggregate_id == listed.product_id] == [
        "park.trades.v1.ProductListed", "park.trades.v1.ProductReviewed"]
    assert [e.type for e in events if e.aggregate_id == order.order_id] == [
        "park.trades.v1.OrderPlaced", "park.trades.v1.TradeSettled"]
    [settled] = payloads(events, events_pb2.TradeSettled)
    assert (settled.gross.amount_minor, settled.fee.amount_minor, settled.net.amount_minor) == (8_888_88, 222_22, 8_666_66)
    assert (settled.seller.tenant_id, settled.seller.sub_park_id, settled.seller.sector_id) == (
        seller.tenant_id, "sp-energy", "sec-digital-energy")
    assert (settled.buyer.sector_id, settled.classification_level, settled.settlement_id) == (
        "sec-ai-model-services", 2, s.settlement_id)


async def test_a_retried_order_returns_the_first_result_and_settles_once(trades_park: TradesPark) -> None:
    seller, buyer = await trades_park.trader(), await trades_park.trader()
    product = await trades_park.approved_product(seller)
    key = fresh_key()
    request = trades_pb2.PlaceOrderRequest(idempotency_key=key, product_id=product.product_id)
    # concurrent retries of the same call (a client that timed out and tried again, twice over)
    orders = await asyncio.gather(*(buyer.stub.PlaceOrder(request) for _ in range(6)))
    later = await buyer.stub.PlaceOrder(request)
    assert len({o.order_id for o in [*orders, later]}) == 1
    assert len({o.settlement.settlement_id for o in [*orders, later]}) == 1
    assert await trades_park.db.settlements.count_documents({"order_id": later.order_id}) == 1
    # an admin placing it for the buyer with the same key gets the same order too
    same = await trades_park.admin.PlaceOrder(trades_pb2.PlaceOrderRequest(
        idempotency_key=key, buyer_tenant_id=buyer.tenant_id, product_id=product.product_id))
    assert same == later

    other_product = await trades_park.approved_product(seller)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await buyer.stub.PlaceOrder(trades_pb2.PlaceOrderRequest(idempotency_key=key,
                                                                 product_id=other_product.product_id))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    events = await trades_park.events([later.order_id], expect=3, timeout=3)
    assert [e.type for e in events] == ["park.trades.v1.OrderPlaced", "park.trades.v1.TradeSettled"]


async def test_a_refund_reverses_exactly_once(trades_park: TradesPark) -> None:
    seller, buyer = await trades_park.trader(sub_park_id="sp-media"), await trades_park.trader()
    product = await trades_park.approved_product(seller, price=cny(999))
    order = await buyer.stub.PlaceOrder(trades_pb2.PlaceOrderRequest(idempotency_key=fresh_key(),
                                                                     product_id=product.product_id))
    assert (order.settlement.fee.amount_minor, order.settlement.net.amount_minor) == (35, 964)  # 350 bps of 9.99

    key = fresh_key("refund")
    request = trades_pb2.RefundOrderRequest(order_id=order.order_id, reason="dataset was incomplete", idempotency_key=key)
    refunded = await trades_park.admin.RefundOrder(request)
    assert refunded.status == trades_pb2.ORDER_STATUS_REFUNDED and refunded.license.HasField("revoked_at")
    r, s = refunded.refund, refunded.settlement
    assert (r.gross, r.fee, r.net) == (s.gross, s.fee, s.net)
    assert await trades_park.admin.RefundOrder(request) == refunded, "the same key returns the first result"
    for retry in (trades_pb2.RefundOrderRequest(order_id=order.order_id, reason="again"),
                  trades_pb2.RefundOrderRequest(order_id=order.order_id, reason="again", idempotency_key=fresh_key())):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await trades_park.admin.RefundOrder(retry)
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert await trades_park.db.refunds.count_documents({"order_id": order.order_id}) == 1

    events = await trades_park.events([order.order_id], expect=3)
    [refund_event] = payloads(events, events_pb2.OrderRefunded)
    assert (refund_event.gross.amount_minor, refund_event.fee.amount_minor, refund_event.net.amount_minor) == (999, 35, 964)
    assert refund_event.settlement_id == s.settlement_id and refund_event.refunded_by == "admin:test-operator"


async def test_orders_are_seen_by_their_buyer_their_seller_and_admins_only(trades_park: TradesPark) -> None:
    seller, buyer, stranger = await trades_park.trader(), await trades_park.trader(), await trades_park.trader()
    product = await trades_park.approved_product(seller)
    order = await buyer.stub.PlaceOrder(trades_pb2.PlaceOrderRequest(idempotency_key=fresh_key(),
                                                                     product_id=product.product_id))
    get = trades_pb2.GetOrderRequest(order_id=order.order_id)
    for who in (buyer, seller):
        assert (await who.stub.GetOrder(get)).order_id == order.order_id
    assert (await trades_park.admin.GetOrder(get)).order_id == order.order_id
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stranger.stub.GetOrder(get)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND

    def ids(response: trades_pb2.ListOrdersResponse) -> list[str]:
        return [o.order_id for o in response.orders]

    assert ids(await buyer.stub.ListOrders(trades_pb2.ListOrdersRequest(side=trades_pb2.ORDER_SIDE_BUYER))) == [order.order_id]
    assert ids(await buyer.stub.ListOrders(trades_pb2.ListOrdersRequest(side=trades_pb2.ORDER_SIDE_SELLER))) == []
    assert ids(await seller.stub.ListOrders(trades_pb2.ListOrdersRequest(side=trades_pb2.ORDER_SIDE_SELLER))) == [order.order_id]
    assert ids(await seller.stub.ListOrders(trades_pb2.ListOrdersRequest())) == [order.order_id]
    assert ids(await stranger.stub.ListOrders(trades_pb2.ListOrdersRequest())) == []
    assert order.order_id in ids(await trades_park.admin.ListOrders(trades_pb2.ListOrdersRequest(
        tenant_id=buyer.tenant_id, side=trades_pb2.ORDER_SIDE_BUYER)))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stranger.stub.ListOrders(trades_pb2.ListOrdersRequest(tenant_id=buyer.tenant_id))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_delisted_products_cannot_be_ordered_until_relisted(trades_park: TradesPark) -> None:
    seller, buyer = await trades_park.trader(), await trades_park.trader()
    product = await trades_park.approved_product(seller)
    delisted = await trades_park.admin.DelistProduct(trades_pb2.DelistProductRequest(
        product_id=product.product_id, reason="compliance hold"))
    assert not delisted.orderable and delisted.delist_reason == "compliance hold"
    order = trades_pb2.PlaceOrderRequest(idempotency_key=fresh_key(), product_id=product.product_id)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await buyer.stub.PlaceOrder(order)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND  # a delisted product is no longer public
    search = trades_pb2.SearchCatalogRequest(seller_tenant_id=seller.tenant_id)
    assert list((await buyer.stub.SearchCatalog(search)).products) == []
    with pytest.raises(grpc.aio.AioRpcError) as caught:  # the admin delisted it: the seller cannot undo that
        await seller.stub.RelistProduct(trades_pb2.RelistProductRequest(product_id=product.product_id))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    async def seller_sees(listing: int) -> list[str]:
        found = await seller.stub.ListProducts(trades_pb2.ListProductsRequest(listing=listing))  # type: ignore[arg-type]
        return [p.product_id for p in found.products]

    assert await seller_sees(trades_pb2.LISTING_DELISTED) == [product.product_id]
    assert await seller_sees(trades_pb2.LISTING_LISTED) == []
    assert (await trades_park.admin.RelistProduct(trades_pb2.RelistProductRequest(product_id=product.product_id))).orderable
    assert await seller_sees(trades_pb2.LISTING_DELISTED) == []
    assert await seller_sees(trades_pb2.LISTING_UNSPECIFIED) == [product.product_id]
    assert (await buyer.stub.PlaceOrder(order)).status == trades_pb2.ORDER_STATUS_SETTLED
    events = await trades_park.events([product.product_id], expect=4)
    changes = payloads(events, events_pb2.ProductDelisted)
    assert [c.delisted for c in changes] == [True, False]


async def test_a_buyer_still_reads_a_delisted_product_it_holds_a_license_to(trades_park: TradesPark) -> None:
    seller, holder, refunded, stranger = [await trades_park.trader() for _ in range(4)]
    product = await trades_park.approved_product(seller)
    for buyer in (holder, refunded):
        order = await buyer.stub.PlaceOrder(trades_pb2.PlaceOrderRequest(idempotency_key=fresh_key(),
                                                                          product_id=product.product_id))
    await trades_park.admin.RefundOrder(trades_pb2.RefundOrderRequest(order_id=order.order_id,
                                                                      reason="data not as described"))
    await trades_park.admin.DelistProduct(trades_pb2.DelistProductRequest(
        product_id=product.product_id, reason="compliance hold"))

    read = trades_pb2.GetProductRequest(product_id=product.product_id)
    seen = await holder.stub.GetProduct(read)
    assert seen.product_id == product.product_id and not seen.orderable and seen.delist_reason == "compliance hold"
    for outsider in (refunded, stranger):  # a refund revoked the license; the stranger never had one
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await outsider.stub.GetProduct(read)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as caught:  # reading is not buying
        await holder.stub.PlaceOrder(trades_pb2.PlaceOrderRequest(idempotency_key=fresh_key(),
                                                                  product_id=product.product_id))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_token_scoped_to_reading_can_browse_and_list_but_not_buy(trades_park: TradesPark) -> None:
    seller, buyer = await trades_park.trader(), await trades_park.trader()
    product = await trades_park.approved_product(seller)
    issued = trades_park.issuer.issue(Role.TENANT, buyer.tenant_id, tenant_id=buyer.tenant_id, ttl=timedelta(hours=1),
                                      scopes=["products:read", "orders:read"])
    reader = trades_park.stub(issued.token)
    found = await reader.SearchCatalog(trades_pb2.SearchCatalogRequest(seller_tenant_id=seller.tenant_id))
    assert [p.product_id for p in found.products] == [product.product_id]
    assert list((await reader.ListOrders(trades_pb2.ListOrdersRequest())).orders) == []
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await reader.PlaceOrder(trades_pb2.PlaceOrderRequest(idempotency_key=fresh_key(), product_id=product.product_id))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED and "orders:write" in caught.value.details()
    assert list((await buyer.stub.ListOrders(trades_pb2.ListOrdersRequest())).orders) == []  # nothing was placed


async def test_sellers_see_their_own_products_in_every_state_with_pages(trades_park: TradesPark) -> None:
    seller = await trades_park.trader()
    made = [await seller.stub.ListProduct(listing(title=f"Route dataset {n}")) for n in range(5)]
    await trades_park.admin.ReviewProduct(trades_pb2.ReviewProductRequest(
        product_id=made[0].product_id, decision=trades_pb2.REVIEW_DECISION_REJECT, reasons=["no provenance"]))
    seen, token = [], ""
    while True:
        page = await seller.stub.ListProducts(trades_pb2.ListProductsRequest(page={"page_size": 2, "page_token": token}))
        seen += [p.product_id for p in page.products]
        token = page.page.next_page_token
        if not token:
            break
    assert seen == [p.product_id for p in made]
    rejected = await seller.stub.ListProducts(trades_pb2.ListProductsRequest(status=trades_pb2.PRODUCT_STATUS_REJECTED))
    assert [p.product_id for p in rejected.products] == [made[0].product_id]
    assert list(rejected.products[0].review.reasons) == ["no provenance"]
