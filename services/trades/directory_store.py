"""Writes of trades' tenant directory (tenants, fee rates, sectors), inside the inbox transaction
that applies a park.tenants.v1 event."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession

from services.trades import documents
from services.trades.collection_names import DIRECTORY, PRODUCTS
from services.trades.domain import ProductStatus
from services.trades.tenant_directory import FeeRate, KnownTenant


class Directory:
    """Writes of the tenant directory, inside the inbox transaction that applies an event."""

    def __init__(self, db: Any, session: AsyncClientSession) -> None:
        self._db = db
        self._session = session

    async def put_tenant(self, tenant: KnownTenant) -> bool:
        """Keep ``tenant`` unless a newer version is stored; returns whether it was written."""
        stored = await self._db[DIRECTORY].find_one({"_id": tenant.tenant_id}, {"version": 1}, session=self._session)
        if stored is not None and stored["version"] >= tenant.version:
            return False
        await self._db[DIRECTORY].replace_one({"_id": tenant.tenant_id}, documents.known_tenant_document(tenant),
                                              upsert=True, session=self._session)
        return True

    async def keep_products_in_step(self, seller: KnownTenant) -> None:
        """Take the seller's products out of the catalog while it may not sell, and back in when it may.

        In the transaction that keeps the seller's new status, so the catalog and the order path
        (which reads the directory) change together.
        """
        products, may_sell = self._db[PRODUCTS], seller.may_trade
        await products.update_many({"seller_tenant_id": seller.tenant_id, "seller_may_sell": {"$ne": may_sell}},
                                   {"$set": {"seller_may_sell": may_sell, "orderable": False}}, session=self._session)
        if may_sell:
            await products.update_many({"seller_tenant_id": seller.tenant_id, "status": ProductStatus.APPROVED.value,
                                        "listed": True, "orderable": False},
                                       {"$set": {"orderable": True}}, session=self._session)

    async def put_sector(self, sector_id: str, name: str) -> None:
        """A sector the park defined: products may be filed under it."""
        document = documents.sector_document(sector_id, name)
        await self._db[DIRECTORY].replace_one({"_id": document["_id"]}, document, upsert=True, session=self._session)

    async def put_fee_rate(self, rate: FeeRate) -> None:
        """The sub-park's current rate (events of one sub-park arrive in order: its key's partition)."""
        document = documents.fee_rate_document(rate)
        await self._db[DIRECTORY].replace_one({"_id": document["_id"]}, document, upsert=True, session=self._session)
