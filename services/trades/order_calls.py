"""The order calls: placing an order (settled at once), reading and listing orders, refunds.

PlaceOrder writes the order, its settlement and license and their events in one
transaction, idempotently per buyer and key; RefundOrder reverses a settlement exactly,
once. Orders are seen by their buyer, their seller and admins.
"""

from __future__ import annotations

from typing import Any

from park.trades.v1 import trades_pb2
from parkos.auth import Role, require_role
from parkos.errors import InvalidArgument, NotFound
from parkos.ids import new_id

from services.trades import ids, mapping, request_checks
from services.trades.authorization import acting_for, checked_admin, checked_caller, to_order
from services.trades.calls import TradesCalls
from services.trades.settlement import Order, check_idempotency_key
from services.trades.queries import OrderQuery
from services.trades.store import Transaction


class OrderCalls(TradesCalls):
    """PlaceOrder, GetOrder, ListOrders, RefundOrder."""

    async def PlaceOrder(self, request: trades_pb2.PlaceOrderRequest, context: Any) -> trades_pb2.Order:
        """Buy a product: order, settlement, license and events in one transaction; idempotent per key."""
        principal = checked_caller(request)
        buyer_id = acting_for(principal, request.buyer_tenant_id, "buyer_tenant_id")
        key = check_idempotency_key(request.idempotency_key)
        product_id = request_checks.product_id(request.product_id)
        order_id, order_ids, now = new_id(ids.ORDER), ids.new_order_ids(), self._clock()

        async def place(tx: Transaction) -> Order:
            # The key is checked by the unique index when the order is inserted, not read first:
            # a retry (rare) costs a failed transaction and a read, a first call (the norm) nothing.
            product = to_order(principal, await tx.product(product_id))
            parties, rates = await tx.directory(buyer_id, product.seller_tenant_id)
            seller = parties.get(product.seller_tenant_id)
            order, events = Order.place(
                order_id=order_id, idempotency_key=key, product=product, buyer=parties.get(buyer_id), seller=seller,
                fee_rate=rates.get(seller.sub_park_id) if seller is not None else None, ids=order_ids, now=now,
            )
            await tx.add_order(order)
            tx.record(*events)
            return order

        order = await self._idempotent(place, buyer_id, key, product_id=product_id, pool_id="")
        return mapping.order_to_proto(order)

    async def GetOrder(self, request: trades_pb2.GetOrderRequest, context: Any) -> trades_pb2.Order:
        """The buyer, the seller or an admin; NOT_FOUND for anyone else."""
        principal = checked_caller(request)
        require_role(principal, Role.ADMIN, Role.TENANT)
        order = await self._store.order(request_checks.order_id(request.order_id))
        if order is None or not (principal.is_admin() or order.visible_to(principal.tenant_id or "")):
            raise NotFound("order not found")
        return mapping.order_to_proto(order)

    async def ListOrders(self, request: trades_pb2.ListOrdersRequest, context: Any) -> trades_pb2.ListOrdersResponse:
        """A buyer's purchases, a seller's sales (both for a tenant by default); admins any."""
        principal = checked_caller(request)
        require_role(principal, Role.ADMIN, Role.TENANT)
        tenant_id = request_checks.optional_tenant_id(request.tenant_id, "tenant_id")
        if principal.role is Role.TENANT:
            tenant_id = acting_for(principal, tenant_id, "tenant_id")
        side = request_checks.enum_value(
            request.side, {trades_pb2.ORDER_SIDE_BUYER: "buyer", trades_pb2.ORDER_SIDE_SELLER: "seller"}, "side"
        )
        if side and not tenant_id:
            raise InvalidArgument.for_field("tenant_id", "is required to list one side's orders")
        query = OrderQuery(
            buyer_tenant_id=tenant_id if side == "buyer" else "",
            seller_tenant_id=tenant_id if side == "seller" else "",
            either_tenant_id=tenant_id if side is None else "",
            status=request_checks.enum_value(request.status, mapping.ORDER_STATUS_FROM_PROTO, "status"),
            product_id=request.product_id and request_checks.product_id(request.product_id),
        )
        found, token = await self._page(principal, "ListOrders", query, request.page, self._store.list_orders)
        return trades_pb2.ListOrdersResponse(orders=[mapping.order_to_proto(o) for o in found],
                                             page={"next_page_token": token})

    async def RefundOrder(self, request: trades_pb2.RefundOrderRequest, context: Any) -> trades_pb2.Order:
        """Admin: reverse a settlement exactly, once."""
        principal = checked_admin(request)
        order_id = request_checks.order_id(request.order_id)
        refund_id, now = new_id(ids.REFUND), self._clock()

        async def refund(tx: Transaction) -> Order:
            order = await tx.order(order_id)
            changed, event = order.refunded(reason=request.reason, idempotency_key=request.idempotency_key,
                                            refund_id=refund_id, actor=principal.subject, now=now)
            if event is not None:
                await tx.save_orders([(order, changed)])
                tx.record(event)
            return changed

        return mapping.order_to_proto(await self._transaction(refund))
