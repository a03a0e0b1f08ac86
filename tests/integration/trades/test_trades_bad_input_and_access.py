"""Bad input and access on the real service: each gets a precise status, and nothing is written."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import grpc
import pytest
from park.trades.v1 import trades_pb2, trades_pb2_grpc
from parkos.auth import Role
from parkos.ids import new_id

from tests.integration.trades.trades_park import Trader, TradesPark, fresh_key, listing, violated_fields

pytestmark = pytest.mark.infra

INVALID, NOT_FOUND = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND
PRECONDITION, DENIED = grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.PERMISSION_DENIED
UNKNOWN_PRODUCT, UNKNOWN_ORDER, UNKNOWN_POOL = new_id("prd"), new_id("ord"), new_id("pol")


@dataclass
class Market:
    seller: Trader
    buyer: Trader
    other: Trader
    approved: trades_pb2.Product
    pending: trades_pb2.Product
    rejected: trades_pb2.Product
    order: trades_pb2.Order
    admin: trades_pb2_grpc.TradesServiceStub
    bank: trades_pb2_grpc.TradesServiceStub
    agent: trades_pb2_grpc.TradesServiceStub
    anonymous: trades_pb2_grpc.TradesServiceStub


@pytest.fixture(scope="module")
async def market(trades_park: TradesPark) -> Market:
    seller, buyer, other = await trades_park.trader(), await trades_park.trader(), await trades_park.trader()
    approved = await trades_park.approved_product(seller)
    pending = await seller.stub.ListProduct(listing(title="Awaiting review"))
    rejected = await seller.stub.ListProduct(listing(title="Will be rejected"))
    rejected = await trades_park.admin.ReviewProduct(trades_pb2.ReviewProductRequest(
        product_id=rejected.product_id, decision=trades_pb2.REVIEW_DECISION_REJECT, reasons=["no provenance"]))
    order = await buyer.stub.PlaceOrder(trades_pb2.PlaceOrderRequest(idempotency_key=fresh_key(),
                                                                     product_id=approved.product_id))
    bank = trades_park.stub(trades_park.token(Role.BANK, "bank:icbc", bank_id="bank-icbc")[0])
    agent = trades_park.stub(trades_park.token(Role.AGENT, "node:gpu-7", node_id="node-gpu-7")[0])
    return Market(seller, buyer, other, approved, pending, rejected, order, trades_park.admin, bank, agent,
                  trades_park.stub(None))


def order(m: Market, product_id: str, **fields: object) -> trades_pb2.PlaceOrderRequest:
    return trades_pb2.PlaceOrderRequest(idempotency_key=fresh_key(), product_id=product_id, **fields)


def cny(amount_minor: int, currency: str = "CNY") -> dict:
    return {"amount_minor": amount_minor, "currency": currency}


def with_unknown_field(message):  # type: ignore[no-untyped-def]
    """The message plus field 99, as a client built against a newer API would send it."""
    raw = message.SerializeToString() + b"\x98\x06\x01"  # field 99 (tag 792), varint 1
    return type(message).FromString(raw)


Call = Callable[[Market], Awaitable[object]]
CASES: list[tuple[str, Call, grpc.StatusCode, set[str] | None]] = [
    # --- orders
    ("unknown product", lambda m: m.buyer.stub.PlaceOrder(order(m, UNKNOWN_PRODUCT)), NOT_FOUND, None),
    ("malformed product id", lambda m: m.buyer.stub.PlaceOrder(order(m, "abc")), INVALID, {"product_id"}),
    ("no idempotency key", lambda m: m.buyer.stub.PlaceOrder(trades_pb2.PlaceOrderRequest(
        product_id=m.approved.product_id)), INVALID, {"idempotency_key"}),
    # a product a buyer cannot see is as unknown to its orders as to GetProduct (nothing tells it exists)
    ("unapproved product", lambda m: m.buyer.stub.PlaceOrder(order(m, m.pending.product_id)), NOT_FOUND, None),
    ("rejected product", lambda m: m.buyer.stub.PlaceOrder(order(m, m.rejected.product_id)), NOT_FOUND, None),
    ("an admin ordering an unapproved product for a buyer", lambda m: m.admin.PlaceOrder(order(
        m, m.pending.product_id, buyer_tenant_id=m.buyer.tenant_id)), PRECONDITION, None),
    ("buyer is the seller", lambda m: m.seller.stub.PlaceOrder(order(m, m.approved.product_id)), PRECONDITION, None),
    ("buying for another tenant", lambda m: m.buyer.stub.PlaceOrder(order(
        m, m.approved.product_id, buyer_tenant_id=m.other.tenant_id)), DENIED, None),
    ("a bank buying", lambda m: m.bank.PlaceOrder(order(m, m.approved.product_id)), DENIED, None),
    ("an agent buying", lambda m: m.agent.PlaceOrder(order(m, m.approved.product_id)), DENIED, None),
    ("admin without a buyer", lambda m: m.admin.PlaceOrder(order(m, m.approved.product_id)), INVALID,
     {"buyer_tenant_id"}),
    ("unknown request field", lambda m: m.buyer.stub.PlaceOrder(with_unknown_field(order(m, m.approved.product_id))),
     INVALID, {"#99"}),
    ("no token", lambda m: m.anonymous.PlaceOrder(order(m, m.approved.product_id)),
     grpc.StatusCode.UNAUTHENTICATED, None),
    ("another tenant's order", lambda m: m.other.stub.GetOrder(trades_pb2.GetOrderRequest(
        order_id=m.order.order_id)), NOT_FOUND, None),
    ("a bank reading an order", lambda m: m.bank.GetOrder(trades_pb2.GetOrderRequest(order_id=m.order.order_id)),
     DENIED, None),
    ("another tenant's sales", lambda m: m.other.stub.ListOrders(trades_pb2.ListOrdersRequest(
        tenant_id=m.seller.tenant_id, side=trades_pb2.ORDER_SIDE_SELLER)), DENIED, None),
    # --- refunds
    ("a tenant refunding", lambda m: m.buyer.stub.RefundOrder(trades_pb2.RefundOrderRequest(
        order_id=m.order.order_id, reason="want my money")), DENIED, None),
    ("refund without a reason", lambda m: m.admin.RefundOrder(trades_pb2.RefundOrderRequest(
        order_id=m.order.order_id)), INVALID, {"reason"}),
    ("refund of an unknown order", lambda m: m.admin.RefundOrder(trades_pb2.RefundOrderRequest(
        order_id=UNKNOWN_ORDER, reason="x")), NOT_FOUND, None),
    # --- listings
    ("negative price", lambda m: m.seller.stub.ListProduct(listing(price=cny(-100))), INVALID, {"price.amount_minor"}),
    ("zero price", lambda m: m.seller.stub.ListProduct(listing(price=cny(0))), INVALID, {"price.amount_minor"}),
    ("absurd price", lambda m: m.seller.stub.ListProduct(listing(price=cny(10**13))), INVALID, {"price.amount_minor"}),
    ("a sector the park does not have", lambda m: m.seller.stub.ListProduct(listing(sector_id="sec-nope")), INVALID,
     {"sector_id"}),
    ("foreign currency", lambda m: m.seller.stub.ListProduct(listing(price=cny(100, "USD"))), INVALID,
     {"price.currency"}),
    ("malformed currency", lambda m: m.seller.stub.ListProduct(listing(price=cny(100, "cny"))), INVALID,
     {"price.currency"}),
    ("no price", lambda m: m.seller.stub.ListProduct(listing(price=None)), INVALID, {"price"}),
    ("level 5", lambda m: m.seller.stub.ListProduct(listing(classification_level=5)), INVALID,
     {"classification_level"}),
    ("unknown delivery", lambda m: m.seller.stub.ListProduct(listing(delivery=7)), INVALID, {"delivery"}),
    ("unknown permitted use", lambda m: m.seller.stub.ListProduct(listing(
        license={"duration_days": 30, "permitted_uses": [99]})), INVALID, {"license.permitted_uses[0]"}),
    ("empty title and no license", lambda m: m.seller.stub.ListProduct(listing(title="", license=None)), INVALID,
     {"title", "license.duration_days", "license.permitted_uses"}),
    ("listing for another seller", lambda m: m.buyer.stub.ListProduct(listing(
        seller_tenant_id=m.seller.tenant_id)), DENIED, None),
    ("a bank listing", lambda m: m.bank.ListProduct(listing()), DENIED, None),
    # --- reviews and the catalog
    ("a tenant reviewing", lambda m: m.seller.stub.ReviewProduct(trades_pb2.ReviewProductRequest(
        product_id=m.pending.product_id, decision=trades_pb2.REVIEW_DECISION_APPROVE)), DENIED, None),
    ("review without a decision", lambda m: m.admin.ReviewProduct(trades_pb2.ReviewProductRequest(
        product_id=m.pending.product_id)), INVALID, {"decision"}),
    ("second review", lambda m: m.admin.ReviewProduct(trades_pb2.ReviewProductRequest(
        product_id=m.approved.product_id, decision=trades_pb2.REVIEW_DECISION_REJECT, reasons=["x"])),
     PRECONDITION, None),
    ("raised to level 4 without assessment", lambda m: m.admin.ReviewProduct(trades_pb2.ReviewProductRequest(
        product_id=m.pending.product_id, decision=trades_pb2.REVIEW_DECISION_APPROVE, classification_level=4)),
     INVALID, {"security_assessment_ref"}),
    ("review of an unknown product", lambda m: m.admin.ReviewProduct(trades_pb2.ReviewProductRequest(
        product_id=UNKNOWN_PRODUCT, decision=trades_pb2.REVIEW_DECISION_APPROVE)), NOT_FOUND, None),
    ("someone else's pending product", lambda m: m.buyer.stub.GetProduct(trades_pb2.GetProductRequest(
        product_id=m.pending.product_id)), NOT_FOUND, None),
    ("delisting someone else's product", lambda m: m.buyer.stub.DelistProduct(trades_pb2.DelistProductRequest(
        product_id=m.approved.product_id, reason="mine now")), DENIED, None),
    ("inverted price range", lambda m: m.buyer.stub.SearchCatalog(trades_pb2.SearchCatalogRequest(
        min_price=cny(500), max_price=cny(100))), INVALID, {"max_price"}),
    ("negative price bound", lambda m: m.buyer.stub.SearchCatalog(trades_pb2.SearchCatalogRequest(
        min_price=cny(-1))), INVALID, {"min_price.amount_minor"}),
    ("unknown listing filter", lambda m: m.seller.stub.ListProducts(trades_pb2.ListProductsRequest(listing=7)),
     INVALID, {"listing"}),
    ("search text too long", lambda m: m.buyer.stub.SearchCatalog(trades_pb2.SearchCatalogRequest(text="x" * 101)),
     INVALID, {"text"}),
    ("forged page token", lambda m: m.buyer.stub.SearchCatalog(trades_pb2.SearchCatalogRequest(
        page={"page_token": "eyJ2IjoxfQ.AAAA"})), INVALID, {"page.page_token"}),
    ("an agent browsing", lambda m: m.agent.SearchCatalog(trades_pb2.SearchCatalogRequest()), DENIED, None),
    # --- pools
    ("joining an unknown pool", lambda m: m.buyer.stub.JoinPool(trades_pb2.JoinPoolRequest(
        idempotency_key=fresh_key(), pool_id=UNKNOWN_POOL)), NOT_FOUND, None),
    ("a bank joining a pool", lambda m: m.bank.JoinPool(trades_pb2.JoinPoolRequest(
        idempotency_key=fresh_key(), pool_id=UNKNOWN_POOL)), DENIED, None),
]


@pytest.mark.parametrize(("call", "code", "fields"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
async def test_refused_precisely_and_nothing_written(
    trades_park: TradesPark, market: Market, call: Call, code: grpc.StatusCode, fields: set[str] | None
) -> None:
    before = await trades_park.counts()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(market)
    assert caught.value.code() == code, caught.value.details()
    if fields is not None:
        assert violated_fields(caught.value) == fields
    assert await trades_park.counts() == before


async def test_a_refusal_never_leaks_another_tenants_data(trades_park: TradesPark, market: Market) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await market.other.stub.GetOrder(trades_pb2.GetOrderRequest(order_id=market.order.order_id))
    for secret in (market.buyer.tenant_id, market.seller.tenant_id, market.approved.title):
        assert secret not in (caught.value.details() or "")
