"""The park.trades.v1.TradesService servicer: what main.py wires into the gRPC server.

Each call checks the request's form, authorizes the caller, translates the message into
domain terms, lets the domain decide inside a store transaction, and translates back.
Errors are ``parkos.errors`` exceptions; the gRPC layer turns them into statuses.

The calls live by capability, each on the steps every call shares (``calls.py``) and the
rules of who may do what (``authorization.py``):

  product_calls.py  data products: listing, compliance review, catalog, delist/relist
  order_calls.py    orders: PlaceOrder (settled at once), GetOrder, ListOrders, RefundOrder
  pool_calls.py     demand pools: OpenPool, JoinPool, GetPool, ListPools
"""

from __future__ import annotations

import grpc
from park.trades.v1 import trades_pb2, trades_pb2_grpc
from parkos.auth import scopes

from services.trades.calls import TradesApiConfig
from services.trades.order_calls import OrderCalls
from services.trades.pool_calls import PoolCalls
from services.trades.product_calls import ProductCalls

__all__ = ["METHOD_SCOPES", "SERVICE_NAME", "TradesApiConfig", "TradesServicer", "add_to_server"]

SERVICE_NAME = trades_pb2.DESCRIPTOR.services_by_name["TradesService"].full_name
# The scope a scoped token needs for each call (parkos.auth.scopes); roles are checked as well.
METHOD_SCOPES = {
    **dict.fromkeys(("GetProduct", "ListProducts", "SearchCatalog", "GetPool", "ListPools"), scopes.PRODUCTS_READ),
    **dict.fromkeys(("ListProduct", "DelistProduct", "RelistProduct", "OpenPool"), scopes.PRODUCTS_WRITE),
    "ReviewProduct": scopes.PRODUCTS_REVIEW,
    **dict.fromkeys(("GetOrder", "ListOrders"), scopes.ORDERS_READ),
    **dict.fromkeys(("PlaceOrder", "JoinPool"), scopes.ORDERS_WRITE),
    "RefundOrder": scopes.ORDERS_REFUND,
}


class TradesServicer(ProductCalls, OrderCalls, PoolCalls, trades_pb2_grpc.TradesServiceServicer):
    """gRPC entry point of the trades service: every call of TradesService.

    Built as ``TradesServicer(store, page_tokens=..., config=TradesApiConfig(...), clock=...)``
    (see ``calls.TradesCalls``).
    """


def add_to_server(servicer: TradesServicer, server: grpc.aio.Server) -> None:
    """Register the servicer on a grpc.aio server."""
    trades_pb2_grpc.add_TradesServiceServicer_to_server(servicer, server)
