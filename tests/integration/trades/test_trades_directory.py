"""Trades knows tenants without asking: its directory follows park.tenants.v1 through the inbox."""

from __future__ import annotations

import grpc
import pytest
from park.events.v1.dead_letter_pb2 import DeadLetter
from park.tenants.v1 import events_pb2 as tenant_events
from park.tenants.v1 import tenants_pb2
from park.trades.v1 import trades_pb2
from parkos.auth import Role
from parkos.ids import new_id

from tests.integration.trades.trades_park import TradesPark, fresh_key, listing, violated_fields
from tests.support.kafka import read_topic

pytestmark = pytest.mark.infra


async def _code(call) -> grpc.StatusCode:  # type: ignore[no-untyped-def]
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


async def test_a_suspended_tenant_can_neither_buy_nor_sell_from_the_moment_its_event_is_applied(
    trades_park: TradesPark,
) -> None:
    seller, buyer, other = await trades_park.trader(), await trades_park.trader(), await trades_park.trader()
    product = await trades_park.approved_product(seller)
    assert (await buyer.stub.PlaceOrder(trades_pb2.PlaceOrderRequest(
        idempotency_key=fresh_key(), product_id=product.product_id))).status == trades_pb2.ORDER_STATUS_SETTLED

    await trades_park.set_status(buyer, "suspended")
    before = await trades_park.counts()
    buy = buyer.stub.PlaceOrder(trades_pb2.PlaceOrderRequest(idempotency_key=fresh_key(), product_id=product.product_id))
    assert await _code(buy) == grpc.StatusCode.FAILED_PRECONDITION
    assert await _code(buyer.stub.ListProduct(listing())) == grpc.StatusCode.FAILED_PRECONDITION
    assert await trades_park.counts() == before

    await trades_park.set_status(seller, "suspended")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await other.stub.PlaceOrder(trades_pb2.PlaceOrderRequest(idempotency_key=fresh_key(),
                                                                 product_id=product.product_id))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "suspended" not in caught.value.details(), "a buyer does not learn the seller's status"
    assert await trades_park.counts() == before

    await trades_park.set_status(seller, "active")  # reinstated: sells again
    assert (await other.stub.PlaceOrder(trades_pb2.PlaceOrderRequest(
        idempotency_key=fresh_key(), product_id=product.product_id))).status == trades_pb2.ORDER_STATUS_SETTLED
    await trades_park.set_status(seller, "suspended")
    await trades_park.set_status(seller, "offboarded")
    assert await _code(other.stub.PlaceOrder(trades_pb2.PlaceOrderRequest(
        idempotency_key=fresh_key(), product_id=product.product_id))) == grpc.StatusCode.FAILED_PRECONDITION


async def test_a_sellers_products_leave_the_catalog_while_it_may_not_sell_and_come_back_when_it_may(
    trades_park: TradesPark,
) -> None:
    seller, buyer = await trades_park.trader(), await trades_park.trader()
    on_offer = await trades_park.approved_product(seller)
    waiting = await seller.stub.ListProduct(listing(title="Coke oven gas readings, 2025"))

    async def catalog() -> dict[str, bool]:
        found = await buyer.stub.SearchCatalog(trades_pb2.SearchCatalogRequest(seller_tenant_id=seller.tenant_id))
        return {product.product_id: product.orderable for product in found.products}

    async def seen_by_buyer(product_id: str) -> bool:
        return (await buyer.stub.GetProduct(trades_pb2.GetProductRequest(product_id=product_id))).orderable

    assert await catalog() == {on_offer.product_id: True}
    await trades_park.set_status(seller, "suspended")
    assert await catalog() == {}
    assert await seen_by_buyer(on_offer.product_id) is False  # still visible, not orderable
    # approved while its seller is suspended: on offer, not orderable
    approved = await trades_park.admin.ReviewProduct(trades_pb2.ReviewProductRequest(
        product_id=waiting.product_id, decision=trades_pb2.REVIEW_DECISION_APPROVE))
    assert approved.orderable is False and await catalog() == {}

    await trades_park.set_status(seller, "active")
    assert await catalog() == {on_offer.product_id: True, waiting.product_id: True}
    await trades_park.set_status(seller, "suspended")
    await trades_park.set_status(seller, "offboarded")
    assert await catalog() == {}
    assert await seen_by_buyer(waiting.product_id) is False


async def test_a_product_is_filed_under_a_sector_once_the_park_has_defined_it(trades_park: TradesPark) -> None:
    seller = await trades_park.trader()
    filed = await seller.stub.ListProduct(listing(sector_id="sec-ai-model-services"))  # not the seller's own sector
    assert filed.sector_id == "sec-ai-model-services"

    sector_id = f"sec-test-{new_id('sec')[-6:].lower()}"
    before = await trades_park.counts()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await seller.stub.ListProduct(listing(sector_id=sector_id))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and violated_fields(caught.value) == {"sector_id"}
    assert await trades_park.counts() == before
    await trades_park.define_sector(sector_id)
    assert (await seller.stub.ListProduct(listing(sector_id=sector_id))).sector_id == sector_id


async def test_tenants_not_known_yet_or_still_pending_cannot_trade(trades_park: TradesPark) -> None:
    seller = await trades_park.trader()
    product = await trades_park.approved_product(seller)
    unknown_id = new_id("ten")
    stranger_token, _ = trades_park.token(Role.TENANT, unknown_id, tenant_id=unknown_id)
    stranger = trades_park.stub(stranger_token)
    pending = await trades_park.trader(status="pending")
    before = await trades_park.counts()
    for who in (stranger, pending.stub):
        assert await _code(who.PlaceOrder(trades_pb2.PlaceOrderRequest(
            idempotency_key=fresh_key(), product_id=product.product_id))) == grpc.StatusCode.FAILED_PRECONDITION
        assert await _code(who.ListProduct(listing())) == grpc.StatusCode.FAILED_PRECONDITION
    assert await trades_park.counts() == before


async def test_the_fee_is_the_sellers_sub_park_rate_as_last_published(trades_park: TradesPark) -> None:
    seller, buyer = await trades_park.trader(sub_park_id="sp-data-services"), await trades_park.trader()
    product = await trades_park.approved_product(seller, price={"amount_minor": 100_000, "currency": "CNY"})

    async def fee() -> tuple[int, int]:
        order = await buyer.stub.PlaceOrder(trades_pb2.PlaceOrderRequest(idempotency_key=fresh_key(),
                                                                         product_id=product.product_id))
        return order.settlement.fee_bps, order.settlement.fee.amount_minor

    assert await fee() == (200, 2_000)
    try:
        await trades_park.set_fee("sp-data-services", 125)
        assert await fee() == (125, 1_250)
    finally:
        await trades_park.set_fee("sp-data-services", 200)

    newcomer = await trades_park.trader(sub_park_id="sp-logistics")  # no rate published for it yet
    unknown_rate = await trades_park.approved_product(newcomer)
    assert await _code(buyer.stub.PlaceOrder(trades_pb2.PlaceOrderRequest(
        idempotency_key=fresh_key(), product_id=unknown_rate.product_id))) == grpc.StatusCode.FAILED_PRECONDITION


async def test_an_older_tenant_version_never_overwrites_a_newer_one(trades_park: TradesPark) -> None:
    trader = await trades_park.trader()
    await trades_park.set_status(trader, "suspended")  # version 3
    stale = tenants_pb2.Tenant(tenant_id=trader.tenant_id, sub_park_id="sp-energy", sector_id="sec-digital-energy",
                               status=tenants_pb2.TENANT_STATUS_ACTIVE, version=2)
    event = await trades_park.feed.publish(tenant_events.TenantProfileUpdated(tenant=stale), trader.tenant_id,
                                           trader.tenant_id)

    async def applied() -> bool:  # the inbox records each event it applied
        return await trades_park.db.inbox.find_one({"_id": event.event_id}) is not None

    await trades_park.wait_for(applied, 20.0, "the stale event was never consumed")
    document = await trades_park.db.directory.find_one({"_id": trader.tenant_id})
    assert (document["status"], document["version"]) == ("suspended", 3)


async def test_a_malformed_tenant_record_goes_to_the_dlq_and_the_directory_goes_on(trades_park: TradesPark) -> None:
    trader = await trades_park.trader()
    await trades_park.feed.send_raw(trader.tenant_id, b"\x00not an envelope")
    no_status = tenants_pb2.Tenant(tenant_id=trader.tenant_id, sub_park_id="sp-energy", version=99)
    bad = await trades_park.feed.publish(tenant_events.TenantStatusChanged(tenant=no_status), trader.tenant_id)
    await trades_park.set_status(trader, "suspended")  # the next good event is still applied
    letters = [DeadLetter.FromString(r.value) for r in await read_topic(
        trades_park.kafka_bootstrap, trades_park.dlq_topic, expect=2, timeout=20)]
    assert any(letter.value == b"\x00not an envelope" for letter in letters)
    assert any(letter.event_id == bad.event_id and letter.error_type == "PermanentEventError" for letter in letters)


async def test_a_revoked_token_is_refused_within_seconds(trades_park: TradesPark) -> None:
    trader = await trades_park.trader()
    request = trades_pb2.SearchCatalogRequest()
    await trader.stub.SearchCatalog(request)
    await trades_park.feed.revoke(trader.token_id, trader.tenant_id)

    async def refused() -> bool:
        return await _code(trader.stub.SearchCatalog(request)) == grpc.StatusCode.UNAUTHENTICATED

    await trades_park.wait_for(refused, 15.0, "the revoked token was still accepted")


async def test_a_replica_that_starts_after_a_revocation_refuses_the_token_from_its_first_call(
    trades_park: TradesPark,
) -> None:
    # the window this closes is short (the feed reading the topic while the replica starts);
    # tests/integration/test_topic_follower.py shows the catch-up the wait rests on
    from services.trades.main import TradesService

    trader = await trades_park.trader()
    await trades_park.feed.revoke(trader.token_id, trader.tenant_id)
    settings = trades_park.service.settings.model_copy(update={"grpc_port": 0})  # type: ignore[attr-defined]
    replica = TradesService(settings)
    await replica.start()
    try:
        stub = trades_park.stub(trader.token, target=f"127.0.0.1:{replica.port}")
        assert await _code(stub.SearchCatalog(trades_pb2.SearchCatalogRequest())) == grpc.StatusCode.UNAUTHENTICATED
    finally:
        await replica.stop()
