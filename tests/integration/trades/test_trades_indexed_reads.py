"""At the park's size, the trades store answers the order path and a tenant's lists through
indexes, not by scanning a collection (which the park's store would do for every call).

The store here holds what a busy park's trades database holds: 1,000 known tenants in nine
sub-parks with their fee rates, and thousands of orders between them.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient

from services.trades import documents
from services.trades.domain import Product, ReviewDecision
from services.trades.queries import CatalogQuery, DuePool, OrderQuery
from services.trades.settlement import Order, OrderIds
from services.trades.store import TradesStore
from services.trades.tenant_directory import FeeRate, KnownTenant, TenantStatus
from tests.support.query_plans import FindRecorder, collection_scans
from tests.unit.trades.trades_builders import draft

pytestmark = pytest.mark.infra

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SUB_PARKS = [f"sp-{number}" for number in range(9)]
TENANTS = 1_000
SELLERS = 50
ORDERS = 3_000


@dataclass(frozen=True)
class ParkSizedTrades:
    store: TradesStore
    client: AsyncMongoClient
    recorder: FindRecorder
    tenants: list[KnownTenant]
    products: list[Product]
    orders: list[Order]


def _products(sellers: list[KnownTenant]) -> list[Product]:
    products = []
    for number, seller in enumerate(sellers):
        listed, _ = Product.list_new(draft(sector_id=seller.sector_id), product_id=f"prd_{number:04d}", seller=seller,
                                     currency="CNY", now=NOW)
        approved, _ = listed.reviewed(ReviewDecision(approve=True, security_assessment_ref="SA-1"), actor="admin",
                                      now=NOW)
        products.append(approved)
    return products


def _orders(tenants: list[KnownTenant], products: list[Product], rates: dict[str, FeeRate]) -> list[Order]:
    by_id = {tenant.tenant_id: tenant for tenant in tenants}
    orders, buyers = [], itertools.cycle(tenants)
    for number in range(ORDERS):
        product = products[number % len(products)]
        buyer = next(buyers)
        if buyer.tenant_id == product.seller_tenant_id:
            buyer = next(buyers)
        seller = by_id[product.seller_tenant_id]
        order, _ = Order.place(order_id=f"ord_{number:06d}", idempotency_key=f"order-key-{number:06d}", product=product,
                               buyer=buyer, seller=seller, fee_rate=rates[seller.sub_park_id],
                               ids=OrderIds(f"stl_{number}", f"lic_{number}"), now=NOW)
        orders.append(order)
    return orders


@pytest.fixture(scope="module")
async def park_sized(infra) -> AsyncIterator[ParkSizedTrades]:  # type: ignore[no-untyped-def]
    recorder = FindRecorder()
    client: AsyncMongoClient = AsyncMongoClient(infra.mongo_uri, tz_aware=True, event_listeners=[recorder])
    store = TradesStore(client, infra.unique_name("trades_plans"))
    await store.ensure_indexes()
    tenants = [KnownTenant(f"ten_{number:05d}", TenantStatus.ACTIVE, SUB_PARKS[number % len(SUB_PARKS)], "sec-data-services", 2)
               for number in range(TENANTS)]
    rates = {sub_park: FeeRate(sub_park, 100 + number) for number, sub_park in enumerate(SUB_PARKS)}
    products = _products(tenants[:SELLERS])
    orders = _orders(tenants, products, rates)
    directory = store.db["directory"]
    await directory.insert_many([documents.known_tenant_document(tenant) for tenant in tenants])
    await directory.insert_many([documents.fee_rate_document(rate) for rate in rates.values()])
    await store.db["products"].insert_many([documents.product_document(product) for product in products])
    await store.db["orders"].insert_many([documents.order_document(order) for order in orders])
    await store.db["licenses"].insert_many([documents.license_document(order) for order in orders])
    recorder.take()
    try:
        yield ParkSizedTrades(store, client, recorder, tenants, products, orders)
    finally:
        await client.close()


async def _in_transaction(park: ParkSizedTrades, work) -> object:  # type: ignore[no-untyped-def]
    return await park.store.transaction(work, correlation_id=None)


async def test_the_order_path_and_a_tenants_lists_read_through_indexes(park_sized: ParkSizedTrades) -> None:
    buyer, product = park_sized.tenants[-2], park_sized.products[0]
    seller = park_sized.tenants[0]
    assert buyer.sub_park_id != seller.sub_park_id

    # PlaceOrder's reads (a seller the directory does not know: no party, no rate, no error),
    # JoinPool's membership check, the pool closer's members
    parties, rates = await _in_transaction(park_sized, lambda tx: tx.directory(buyer.tenant_id, seller.tenant_id))
    assert set(parties) == {buyer.tenant_id, seller.tenant_id}
    assert {sub_park: rate.trade_fee_bps for sub_park, rate in rates.items()} == {
        party.sub_park_id: 100 + SUB_PARKS.index(party.sub_park_id) for party in (buyer, seller)}
    parties, rates = await _in_transaction(park_sized, lambda tx: tx.directory(buyer.tenant_id, "ten_unknown"))
    assert set(parties) == {buyer.tenant_id} and set(rates) == {buyer.sub_park_id}
    await _in_transaction(park_sized, lambda tx: tx.product(product.product_id))
    await _in_transaction(park_sized, lambda tx: tx.is_pool_member("pool_0001", buyer.tenant_id))
    await _in_transaction(park_sized, lambda tx: tx.pool_members("pool_0001"))
    await park_sized.store.order_by_key(buyer.tenant_id, "order-key-000000")
    await park_sized.store.holds_license(buyer.tenant_id, product.product_id, NOW)  # GetProduct of a delisted product
    # a tenant's and a seller's lists, first and later pages; the catalog of a sector
    store, some_order = park_sized.store, park_sized.orders[1_500].order_id
    for query in (OrderQuery(either_tenant_id=seller.tenant_id), OrderQuery(buyer_tenant_id=buyer.tenant_id),
                  OrderQuery(seller_tenant_id=seller.tenant_id)):
        await store.list_orders(query, after=None, limit=20)
        await store.list_orders(query, after=some_order, limit=20)
    await store.due_pools(NOW, 20)
    await store.due_pools(NOW, 20, after=DuePool(NOW - timedelta(hours=1), "pool_0001"))
    await store.search_catalog(CatalogQuery(sector_id="sec-data-services"), after=None, limit=20)

    finds = park_sized.recorder.take()
    assert len(finds) == 21
    assert await collection_scans(park_sized.client, finds) == []


async def test_a_license_is_held_while_it_is_valid(park_sized: ParkSizedTrades) -> None:
    order = park_sized.orders[7]
    assert order.license is not None
    held = park_sized.store.holds_license
    assert await held(order.buyer.tenant_id, order.product_id, NOW)
    assert not await held(order.buyer.tenant_id, order.product_id, order.license.valid_until)  # expired then
    assert not await held(order.seller.tenant_id, order.product_id, NOW)


async def test_a_tenants_orders_page_through_its_purchases_and_sales_together_in_order(
    park_sized: ParkSizedTrades,
) -> None:
    trader = park_sized.tenants[3]  # sells a product and buys others
    expected = sorted(order.order_id for order in park_sized.orders
                      if trader.tenant_id in (order.buyer.tenant_id, order.seller.tenant_id))
    assert any(order.buyer.tenant_id == trader.tenant_id for order in park_sized.orders)

    listed: list[str] = []
    after = None
    while True:
        page = await park_sized.store.list_orders(OrderQuery(either_tenant_id=trader.tenant_id), after=after, limit=7)
        listed.extend(order.order_id for order in page)
        if len(page) < 7:
            break
        after = page[-1].order_id
    assert listed == expected


async def test_the_pool_closer_pages_through_pools_due_at_the_same_instant_in_order(
    park_sized: ParkSizedTrades,
) -> None:
    # only what due_pools reads: status, closing time
    earlier, later = NOW - timedelta(hours=2), NOW - timedelta(hours=1)
    due = [(earlier, f"pool_e{n}") for n in range(3)] + [(later, f"pool_l{n}") for n in range(4)] + [(NOW, "pool_now")]
    pools = [{"_id": pool_id, "status": "open", "closes_at": at} for at, pool_id in due]
    pools += [{"_id": "pool_e9_closed", "status": "closed", "closes_at": earlier},
              {"_id": "pool_not_due", "status": "open", "closes_at": NOW + timedelta(seconds=1)}]
    await park_sized.store.db["pools"].insert_many(pools)
    park_sized.recorder.take()

    paged: list[DuePool] = []
    after = None
    while True:
        page = await park_sized.store.due_pools(NOW, 2, after=after)
        paged.extend(page)
        if len(page) < 2:
            break
        after = page[-1]
    assert [(pool.closes_at, pool.pool_id) for pool in paged] == due
    assert await collection_scans(park_sized.client, park_sized.recorder.take()) == []
