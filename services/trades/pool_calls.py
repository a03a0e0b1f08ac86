"""The demand-pool calls: opening a pool on a product, joining it, reading and listing pools.

A seller (or an admin) opens a pool with volume tiers; buyers join it, idempotently per
key, and their orders settle at the tier reached when the pool closes (``pool_closer.py``).
Every catalog reader may read pools.
"""

from __future__ import annotations

from typing import Any

from park.trades.v1 import trades_pb2
from parkos.auth import Role, require_role
from parkos.clock import to_stored_precision
from parkos.errors import NotFound
from parkos.ids import new_id
from parkos.timestamps import requested_time

from services.trades import ids, mapping, request_checks
from services.trades.authorization import CATALOG_READERS, acting_for, checked_caller, managed
from services.trades.calls import TradesCalls
from services.trades.pools import Pool
from services.trades.settlement import Order, check_idempotency_key
from services.trades.queries import PoolQuery
from services.trades.store import Transaction


class PoolCalls(TradesCalls):
    """OpenPool, JoinPool, GetPool, ListPools."""

    async def OpenPool(self, request: trades_pb2.OpenPoolRequest, context: Any) -> trades_pb2.Pool:
        """The seller (or an admin): a demand pool on an orderable product."""
        principal = checked_caller(request)
        require_role(principal, Role.ADMIN, Role.TENANT)
        product_id = request_checks.product_id(request.product_id)
        tiers = [mapping.tier_from_proto(tier) for tier in request.tiers]
        requested_close = requested_time(request, "closes_at")
        closes_at = to_stored_precision(requested_close) if requested_close is not None else None
        pool_id, now = new_id(ids.POOL), self._clock()

        async def open_pool(tx: Transaction) -> Pool:
            product = managed(principal, await tx.product(product_id))
            seller = (await tx.tenants(product.seller_tenant_id)).get(product.seller_tenant_id)
            pool, event = Pool.open(pool_id=pool_id, product=product, seller=seller, tiers=tiers,
                                    closes_at=closes_at, now=now)
            await tx.add_pool(pool)
            tx.record(event)
            return pool

        return mapping.pool_to_proto(await self._transaction(open_pool))

    async def JoinPool(self, request: trades_pb2.JoinPoolRequest, context: Any) -> trades_pb2.Order:
        """A buyer joins an open pool; its order settles when the pool closes. Idempotent per key."""
        principal = checked_caller(request)
        buyer_id = acting_for(principal, request.buyer_tenant_id, "buyer_tenant_id")
        key = check_idempotency_key(request.idempotency_key)
        pool_id = request_checks.pool_id(request.pool_id)
        order_id, now = new_id(ids.ORDER), self._clock()

        async def join(tx: Transaction) -> Order:  # the key is checked as in PlaceOrder (TradesCalls._idempotent)
            pool = await tx.pool(pool_id)
            product = await tx.product(pool.product_id)
            parties = await tx.tenants(buyer_id, pool.seller_tenant_id)
            pool, order, event = pool.joined(
                order_id=order_id, idempotency_key=key, product=product, buyer=parties.get(buyer_id),
                seller=parties.get(pool.seller_tenant_id), already_member=await tx.is_pool_member(pool_id, buyer_id),
                now=now,
            )
            await tx.save_pool(pool)
            await tx.add_order(order)
            tx.record(event)
            return order

        order = await self._idempotent(join, buyer_id, key, product_id=None, pool_id=pool_id)
        return mapping.order_to_proto(order)

    async def GetPool(self, request: trades_pb2.GetPoolRequest, context: Any) -> trades_pb2.Pool:
        principal = checked_caller(request)
        require_role(principal, *CATALOG_READERS)
        pool = await self._store.pool(request_checks.pool_id(request.pool_id))
        if pool is None:
            raise NotFound("pool not found")
        return mapping.pool_to_proto(pool)

    async def ListPools(self, request: trades_pb2.ListPoolsRequest, context: Any) -> trades_pb2.ListPoolsResponse:
        principal = checked_caller(request)
        require_role(principal, *CATALOG_READERS)
        query = PoolQuery(
            product_id=request.product_id and request_checks.product_id(request.product_id),
            seller_tenant_id=request_checks.optional_tenant_id(request.seller_tenant_id, "seller_tenant_id"),
            status=request_checks.enum_value(request.status, mapping.POOL_STATUS_FROM_PROTO, "status"),
        )
        found, token = await self._page(principal, "ListPools", query, request.page, self._store.list_pools)
        return trades_pb2.ListPoolsResponse(pools=[mapping.pool_to_proto(p) for p in found],
                                            page={"next_page_token": token})
