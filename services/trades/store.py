"""The trades service's MongoDB repository: documents, indexes, transactions, outbox.

Every change runs through ``TradesStore.transaction``: the work function reads and writes
through a ``Transaction`` and records the domain events it caused; the events become
outbox rows in the same MongoDB transaction (snapshot reads, majority commit). An order,
its settlement, its license grant and its OrderPlaced/TradeSettled rows are therefore
committed together or not at all. pymongo may run the work function again after a
transient error, so it only computes from what it reads.

The tenant directory (tenants and sub-park fee rates, from park.tenants.v1) is written
by the inbox consumer through ``Directory``, inside the inbox's own transaction.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

from parkos.errors import Aborted, AlreadyExists, NotFound
from parkos.events.topics import TRADES
from parkos.mongo import run_in_transaction, write_together
from parkos.outbox import ensure_outbox_indexes, outbox_inserts
from pymongo import ASCENDING, AsyncMongoClient, InsertOne, ReplaceOne, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from services.trades import documents
from services.trades.collection_names import (
    DIRECTORY,
    LICENSES,
    ORDERS,
    POOLS,
    PRODUCTS,
    REFUNDS,
    SETTLEMENTS,
)
from services.trades.directory_store import Directory
from services.trades.domain import Product
from services.trades.mapping import DomainEvent, event_envelope
from services.trades.pools import Pool, PoolStatus
from services.trades.queries import CatalogQuery, DuePool, OrderQuery, PoolQuery, ProductQuery
from services.trades.settlement import Order, OrderStatus
from services.trades.tenant_directory import FeeRate, KnownTenant

T = TypeVar("T")

_IDEMPOTENCY_INDEX = "buyer_idempotency_key_unique"


class IdempotencyKeyTaken(AlreadyExists):
    """Another call with the same buyer and idempotency key committed first: read its result."""


class Transaction:
    """Reads and writes of one MongoDB transaction, plus the events it will publish."""

    def __init__(self, db: Any, session: AsyncClientSession) -> None:
        self._db = db
        self._session = session
        self.events: list[DomainEvent] = []
        # Inserts of new orders, sent with the outbox rows at the end (``finish``).
        self._deferred: list[InsertOne] = []

    def record(self, *events: Any) -> None:
        """Publish these events if the transaction commits (None entries are skipped)."""
        self.events.extend(event for event in events if event is not None)

    async def finish(self, topic: str, correlation_id: str | None) -> None:
        """Write what was deferred and the recorded events' outbox rows, in one round trip."""
        envelopes = [event_envelope(event, correlation_id=correlation_id) for event in self.events]
        writes = [*self._deferred, *outbox_inserts(self._db, self._session, topic, envelopes)]
        self._deferred = []
        await write_together(self._db.client, self._session, writes)

    # --- products

    async def product(self, product_id: str) -> Product:
        document = await self._db[PRODUCTS].find_one({"_id": product_id}, session=self._session)
        if document is None:
            raise NotFound("product not found")
        return documents.product_from_document(document)

    async def add_product(self, product: Product) -> None:
        """Insert a new product of a seller the transaction read as one who may sell.

        The seller's directory entry is written too: a status change applied meanwhile
        (``Directory.keep_products_in_step`` cannot see this product yet) then conflicts with
        this transaction, which runs again and reads the new status.
        """
        await self._db[DIRECTORY].update_one({"_id": product.seller_tenant_id},
                                             {"$set": {"last_listing_at": product.listed_at}}, session=self._session)
        await self._db[PRODUCTS].insert_one(documents.product_document(product), session=self._session)

    async def save_product(self, product: Product) -> None:
        await self._replace(PRODUCTS, product.product_id, product.version, documents.product_document(product))

    # --- orders

    async def order(self, order_id: str) -> Order:
        document = await self._db[ORDERS].find_one({"_id": order_id}, session=self._session)
        if document is None:
            raise NotFound("order not found")
        return documents.order_from_document(document)

    async def order_by_key(self, buyer_tenant_id: str, idempotency_key: str) -> Order | None:
        """The order a buyer placed with this idempotency key, if any."""
        document = await self._db[ORDERS].find_one(
            {"buyer.tenant_id": buyer_tenant_id, "idempotency_key": idempotency_key}, session=self._session
        )
        return documents.order_from_document(document) if document else None

    async def add_order(self, order: Order) -> None:
        """Insert a new order, with its settlement and license rows when it settled at once.

        The inserts go out with the outbox rows when the transaction finishes (one round trip
        instead of four on the order path); nothing reads an order back in the transaction
        that placed it. The unique idempotency index still refuses a second order then.
        """
        rows = [(ORDERS, documents.order_document(order))]
        if order.status is OrderStatus.SETTLED:
            rows.extend(_settled_rows(order))
        self._deferred.extend(InsertOne(document, namespace=f"{self._db.name}.{collection}")
                              for collection, document in rows)

    async def save_orders(self, changes: Iterable[tuple[Order, Order]]) -> None:
        """Replace each ``(before, after)`` order (still at ``before``'s version) and write its ledger rows."""
        changes = list(changes)
        if not changes:
            return
        result = await self._db[ORDERS].bulk_write(
            [ReplaceOne({"_id": after.order_id, "version": before.version}, documents.order_document(after))
             for before, after in changes],
            ordered=True, session=self._session,
        )
        if result.matched_count != len(changes):
            raise Aborted("an order changed concurrently; retry")
        await self._write_ledgers(changes)

    async def pool_members(self, pool_id: str) -> list[Order]:
        """The pool's orders still waiting for it to close."""
        cursor = self._db[ORDERS].find(
            {"pool_id": pool_id, "status": OrderStatus.POOL_PENDING.value}, session=self._session
        ).sort("_id", ASCENDING)
        return [documents.order_from_document(document) async for document in cursor]

    async def is_pool_member(self, pool_id: str, buyer_tenant_id: str) -> bool:
        """Whether the buyer has an order in the pool already."""
        found = await self._db[ORDERS].find_one({"pool_id": pool_id, "buyer.tenant_id": buyer_tenant_id},
                                                projection={"_id": 1}, session=self._session)
        return found is not None

    async def _write_ledgers(self, changes: Iterable[tuple[Order | None, Order]]) -> None:
        settlements, licenses, refunds, revoked = [], [], [], []
        for before, after in changes:
            was = before.status if before is not None else None
            if after.status is OrderStatus.SETTLED and was is not OrderStatus.SETTLED:
                rows = dict(_settled_rows(after))
                settlements.append(InsertOne(rows[SETTLEMENTS]))
                licenses.append(InsertOne(rows[LICENSES]))
            if after.status is OrderStatus.REFUNDED and was is OrderStatus.SETTLED:
                refunds.append(InsertOne(documents.refund_document(after)))
                assert after.license is not None
                revoked.append(UpdateOne({"_id": after.license.license_id},
                                         {"$set": {"revoked_at": after.license.revoked_at}}))
        for collection, operations in ((SETTLEMENTS, settlements), (LICENSES, licenses + revoked), (REFUNDS, refunds)):
            if operations:
                await self._db[collection].bulk_write(operations, ordered=True, session=self._session)

    # --- pools

    async def pool(self, pool_id: str) -> Pool:
        document = await self._db[POOLS].find_one({"_id": pool_id}, session=self._session)
        if document is None:
            raise NotFound("pool not found")
        return documents.pool_from_document(document)

    async def add_pool(self, pool: Pool) -> None:
        await self._db[POOLS].insert_one(documents.pool_document(pool), session=self._session)

    async def save_pool(self, pool: Pool) -> None:
        await self._replace(POOLS, pool.pool_id, pool.version, documents.pool_document(pool))

    # --- the tenant directory

    async def tenants(self, *tenant_ids: str) -> dict[str, KnownTenant]:
        """The known tenants among ``tenant_ids`` (unknown ones are absent), in one round trip."""
        wanted = sorted({tenant_id for tenant_id in tenant_ids if tenant_id})
        cursor = self._db[DIRECTORY].find({"_id": {"$in": wanted}}, session=self._session)
        return {document["_id"]: documents.known_tenant_from_document(document) async for document in cursor}

    async def knows_sector(self, sector_id: str) -> bool:
        """Whether the park defined this sector (SectorDefined)."""
        found = await self._db[DIRECTORY].find_one({"_id": documents.sector_id_in_directory(sector_id)}, {"_id": 1},
                                                    session=self._session)
        return found is not None

    async def directory(self, *tenant_ids: str) -> tuple[dict[str, KnownTenant], dict[str, FeeRate]]:
        """The known tenants among ``tenant_ids`` and the fee rates of their sub-parks, in two reads by _id.

        Not one ``$or`` of tenants and fee rates: the park's store plans a top-level ``$or`` as a
        scan of the whole directory (~50 ms at the park's 1,000 tenants, on every order).
        """
        tenants = await self.tenants(*tenant_ids)
        wanted = sorted({documents.fee_rate_id(tenant.sub_park_id) for tenant in tenants.values()})
        if not wanted:
            return tenants, {}
        cursor = self._db[DIRECTORY].find({"_id": {"$in": wanted}}, session=self._session)
        rates = [documents.fee_rate_from_document(document) async for document in cursor]
        return tenants, {rate.sub_park_id: rate for rate in rates}

    async def _replace(self, collection: str, _id: str, version: int, document: dict[str, Any]) -> None:
        """Replace a document that must still be at ``version - 1`` (optimistic concurrency)."""
        result = await self._db[collection].replace_one({"_id": _id, "version": version - 1}, document,
                                                        session=self._session)
        if result.matched_count != 1:
            raise Aborted("changed concurrently; retry")


class TradesStore:
    """The trades database: products, orders and ledgers, pools, tenant directory, outbox."""

    def __init__(
        self, client: AsyncMongoClient, database: str, *, topic: str = TRADES.name,
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self._client = client
        self.db = client[database]
        self._topic = topic
        self._on_commit = on_commit

    async def ensure_indexes(self) -> None:
        """Create the indexes the queries and invariants below rely on (idempotent)."""
        products = self.db[PRODUCTS]
        await products.create_index([("seller_tenant_id", ASCENDING), ("_id", ASCENDING)], name="seller_then_id")
        await products.create_index([("orderable", ASCENDING), ("_id", ASCENDING)], name="orderable_then_id")
        await products.create_index([("orderable", ASCENDING), ("sector_id", ASCENDING), ("_id", ASCENDING)],
                                    name="orderable_sector_then_id")
        orders = self.db[ORDERS]
        await orders.create_index([("buyer.tenant_id", ASCENDING), ("idempotency_key", ASCENDING)],
                                  unique=True, name=_IDEMPOTENCY_INDEX)
        await orders.create_index([("buyer.tenant_id", ASCENDING), ("_id", ASCENDING)], name="buyer_then_id")
        await orders.create_index([("seller.tenant_id", ASCENDING), ("_id", ASCENDING)], name="seller_then_id")
        await orders.create_index([("pool_id", ASCENDING), ("status", ASCENDING)], name="pool_members")
        await orders.create_index([("product_id", ASCENDING), ("_id", ASCENDING)], name="product_then_id")
        for ledger in (SETTLEMENTS, LICENSES, REFUNDS):
            # the database's own guarantee: an order settles, grants and refunds at most once
            await self.db[ledger].create_index("order_id", unique=True, name="one_per_order")
        await self.db[LICENSES].create_index([("buyer_tenant_id", ASCENDING), ("valid_until", ASCENDING)],
                                             name="buyer_valid_until")
        await self.db[LICENSES].create_index([("buyer_tenant_id", ASCENDING), ("product_id", ASCENDING)],
                                             name="buyer_product")
        pools = self.db[POOLS]
        await pools.create_index([("status", ASCENDING), ("closes_at", ASCENDING)], name="due")
        # the pool closer pages through due pools in (closes_at, _id) order
        await pools.create_index([("status", ASCENDING), ("closes_at", ASCENDING), ("_id", ASCENDING)],
                                 name="due_in_order")
        await pools.create_index([("product_id", ASCENDING), ("_id", ASCENDING)], name="product_then_id")
        await pools.create_index([("seller_tenant_id", ASCENDING), ("_id", ASCENDING)], name="seller_then_id")
        await self.db[DIRECTORY].create_index("kind", name="kind")
        await ensure_outbox_indexes(self.db)

    async def ping(self) -> bool:
        """Readiness: the database answers."""
        await self.db.command("ping")
        return True

    async def transaction(self, work: Callable[[Transaction], Awaitable[T]], *, correlation_id: str | None) -> T:
        """Run ``work`` in one transaction and publish its recorded events through the outbox."""
        last: Transaction | None = None

        async def attempt(session: AsyncClientSession) -> T:
            nonlocal last
            last = tx = Transaction(self.db, session)
            result = await work(tx)
            await tx.finish(self._topic, correlation_id)
            return result

        try:
            result = await run_in_transaction(self._client, attempt)
        except DuplicateKeyError as error:
            raise _duplicate(error) from None
        assert last is not None
        if last.events:
            self._on_commit()
        return result

    def directory_writer(self, session: AsyncClientSession) -> Directory:
        """The directory writer for an inbox transaction."""
        return Directory(self.db, session)

    # --- reads outside transactions

    async def product(self, product_id: str) -> Product | None:
        document = await self.db[PRODUCTS].find_one({"_id": product_id})
        return documents.product_from_document(document) if document else None

    async def holds_license(self, buyer_tenant_id: str, product_id: str, now: datetime) -> bool:
        """Whether the buyer holds a license to the product valid at ``now`` that no refund revoked."""
        found = await self.db[LICENSES].find_one(
            {"buyer_tenant_id": buyer_tenant_id, "product_id": product_id, "revoked_at": None,
             "valid_until": {"$gt": now}}, {"_id": 1})
        return found is not None

    async def order(self, order_id: str) -> Order | None:
        document = await self.db[ORDERS].find_one({"_id": order_id})
        return documents.order_from_document(document) if document else None

    async def order_by_key(self, buyer_tenant_id: str, idempotency_key: str) -> Order | None:
        document = await self.db[ORDERS].find_one({"buyer.tenant_id": buyer_tenant_id,
                                                   "idempotency_key": idempotency_key})
        return documents.order_from_document(document) if document else None

    async def pool(self, pool_id: str) -> Pool | None:
        document = await self.db[POOLS].find_one({"_id": pool_id})
        return documents.pool_from_document(document) if document else None

    async def due_pools(self, now: datetime, limit: int, *, after: DuePool | None = None) -> list[DuePool]:
        """Open pools whose closing time has come, the most overdue first, from just after ``after``.

        After a page, two reads rather than one ``$or`` (which the park's store answers by
        scanning every pool): the rest of ``after``'s closing instant, then the later instants.
        """
        due: dict[str, Any] = {"status": PoolStatus.OPEN.value, "closes_at": {"$lte": now}}
        found: list[dict[str, Any]] = []
        if after is not None:
            found = await self._due_page({"status": PoolStatus.OPEN.value, "closes_at": after.closes_at,
                                          "_id": {"$gt": after.pool_id}}, limit)
            due["closes_at"] = {"$gt": after.closes_at, "$lte": now}
        if len(found) < limit:
            found += await self._due_page(due, limit - len(found))
        return [DuePool(document["closes_at"], document["_id"]) for document in found]

    async def _due_page(self, where: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        cursor = self.db[POOLS].find(where, projection={"_id": 1, "closes_at": 1}).sort(
            [("closes_at", ASCENDING), ("_id", ASCENDING)]).limit(limit)
        return await cursor.to_list()

    async def list_products(self, query: ProductQuery, *, after: str | None, limit: int) -> list[Product]:
        where: dict[str, Any] = {}
        if query.seller_tenant_id:
            where["seller_tenant_id"] = query.seller_tenant_id
        if query.status is not None:
            where["status"] = query.status.value
        if query.listed is not None:
            where["listed"] = query.listed
        return [documents.product_from_document(d) for d in await self._page(PRODUCTS, where, after, limit)]

    async def search_catalog(self, query: CatalogQuery, *, after: str | None, limit: int) -> list[Product]:
        where: dict[str, Any] = {"orderable": True}
        if query.sector_id:
            where["sector_id"] = query.sector_id
        if query.seller_tenant_id:
            where["seller_tenant_id"] = query.seller_tenant_id
        if query.delivery:
            where["delivery"] = query.delivery
        price: dict[str, int] = {}
        if query.min_price_minor is not None:
            price["$gte"] = query.min_price_minor
        if query.max_price_minor is not None:
            price["$lte"] = query.max_price_minor
        if price:
            where["price.amount_minor"] = price
        if query.words:
            where["$and"] = [{"search_text": {"$regex": re.escape(word)}} for word in query.words]
        return [documents.product_from_document(d) for d in await self._page(PRODUCTS, where, after, limit)]

    async def list_orders(self, query: OrderQuery, *, after: str | None, limit: int) -> list[Order]:
        where: dict[str, Any] = {}
        if query.buyer_tenant_id:
            where["buyer.tenant_id"] = query.buyer_tenant_id
        if query.seller_tenant_id:
            where["seller.tenant_id"] = query.seller_tenant_id
        if query.status is not None:
            where["status"] = query.status.value
        if query.product_id:
            where["product_id"] = query.product_id
        if query.either_tenant_id:
            found = await self._either_side_page(where, query.either_tenant_id, after, limit)
        else:
            found = await self._page(ORDERS, where, after, limit)
        return [documents.order_from_document(d) for d in found]

    async def _either_side_page(self, where: dict[str, Any], tenant_id: str, after: str | None,
                                limit: int) -> list[dict[str, Any]]:
        """A page of the tenant's purchases and sales together: a page of each side, merged by _id.

        Not one ``$or`` of the two sides: the park's store scans the whole collection for it.
        Each side is read through its own index; the first ``limit`` of the union are among
        the first ``limit`` of each side.
        """
        sides = await asyncio.gather(*(self._page(ORDERS, {**where, side: tenant_id}, after, limit)
                                       for side in ("buyer.tenant_id", "seller.tenant_id")))
        merged = {document["_id"]: document for page in sides for document in page}
        return [merged[order_id] for order_id in sorted(merged)[:limit]]

    async def list_pools(self, query: PoolQuery, *, after: str | None, limit: int) -> list[Pool]:
        where: dict[str, Any] = {}
        if query.product_id:
            where["product_id"] = query.product_id
        if query.seller_tenant_id:
            where["seller_tenant_id"] = query.seller_tenant_id
        if query.status is not None:
            where["status"] = query.status.value
        return [documents.pool_from_document(d) for d in await self._page(POOLS, where, after, limit)]

    async def _page(self, collection: str, where: dict[str, Any], after: str | None, limit: int) -> list[dict[str, Any]]:
        if after:
            where = {**where, "_id": {"$gt": after}}
        return await self.db[collection].find(where).sort("_id", ASCENDING).limit(limit).to_list()


def _settled_rows(order: Order) -> list[tuple[str, dict[str, Any]]]:
    """What a settlement writes besides the order: its settlement and its license grant."""
    return [(SETTLEMENTS, documents.settlement_document(order)), (LICENSES, documents.license_document(order))]


def _duplicate(error: DuplicateKeyError) -> Exception:
    """A unique-index violation in the park's words."""
    details = error.details or {}
    key = details.get("keyPattern") or details.get("keyValue") or {}
    text = str(error)
    if "idempotency_key" in key or _IDEMPOTENCY_INDEX in text:
        return IdempotencyKeyTaken("this idempotency key was used by a concurrent call")
    if "order_id" in key or "one_per_order" in text:
        return Aborted("the order was settled or refunded concurrently; retry")
    return AlreadyExists("already exists")
