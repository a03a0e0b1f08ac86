"""``parkctl orders ...``: buying data products, the orders' settlements, refunds."""

from __future__ import annotations

import secrets
from typing import Annotated

import typer
from park.trades.v1 import trades_pb2

from parkctl.output import enum_name, fail, money, show_many, show_one, when
from parkctl.session import PAGE_FLAGS, Session

app = typer.Typer(help="Orders: place, show, list, refund.", no_args_is_help=True)

# both: purchases and sales, as when no side is given
SIDES = {"buyer": trades_pb2.ORDER_SIDE_BUYER, "seller": trades_pb2.ORDER_SIDE_SELLER,
         "both": trades_pb2.ORDER_SIDE_UNSPECIFIED}
STATUSES = {"pool-pending": trades_pb2.ORDER_STATUS_POOL_PENDING, "settled": trades_pb2.ORDER_STATUS_SETTLED,
            "refunded": trades_pb2.ORDER_STATUS_REFUNDED, "cancelled": trades_pb2.ORDER_STATUS_CANCELLED}
KeyOption = Annotated[str, typer.Option(
    "--key", help="Idempotency key; repeat the command with the same key to retry safely (default: a new one)")]


def _session(ctx: typer.Context) -> Session:
    return ctx.obj


def new_key(prefix: str) -> str:
    return f"parkctl-{prefix}-{secrets.token_hex(8)}"


def status_of(order: trades_pb2.Order) -> str:
    return enum_name(trades_pb2.OrderStatus, order.status, "ORDER_STATUS_").replace("_", "-")


def show_order(session: Session, order: trades_pb2.Order) -> None:
    s, r, lic = order.settlement, order.refund, order.license
    show_one(session, order, [
        ("order", order.order_id), ("product", f"{order.product_id} ({order.product_title})"),
        ("buyer", f"{order.buyer.tenant_id} ({order.buyer.sub_park_id})"),
        ("seller", f"{order.seller.tenant_id} ({order.seller.sub_park_id})"),
        ("status", status_of(order)), ("pool", order.pool_id), ("list price", money(order.list_price)),
        ("gross (buyer paid)", money(s.gross)), ("fee (park)", f"{money(s.fee)} at {s.fee_bps} bps" if s.settlement_id else ""),
        ("net (seller)", money(s.net)), ("settled", when(s.settled_at)),
        ("license", f"{when(lic.valid_from)} .. {when(lic.valid_until)}" if lic.license_id else ""),
        ("refunded", f"{money(r.gross)} on {when(r.refunded_at)}: {r.reason}" if r.refund_id else ""),
        ("cancelled", order.cancel_reason), ("idempotency key", order.idempotency_key),
        ("placed", when(order.placed_at)),
    ])


@app.command()
def place(
    ctx: typer.Context,
    product_id: str,
    buyer: Annotated[str, typer.Option("--buyer", help="The buying tenant (admins; a tenant token buys as itself)")] = "",
    key: KeyOption = "",
) -> None:
    """Buy a product at its current price; the order settles at once."""
    session = _session(ctx)
    session.flags = {"idempotency_key": "--key", "buyer_tenant_id": "--buyer"}
    request = trades_pb2.PlaceOrderRequest(idempotency_key=key or new_key("order"), buyer_tenant_id=buyer,
                                           product_id=product_id)
    show_order(session, session.trades().PlaceOrder(request, timeout=session.timeout))


@app.command()
def get(ctx: typer.Context, order_id: str) -> None:
    """Show one order with its settlement, license and refund."""
    session = _session(ctx)
    show_order(session, session.trades().GetOrder(trades_pb2.GetOrderRequest(order_id=order_id), timeout=session.timeout))


@app.command("list")
def list_orders(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Option("--tenant", help="Whose orders (admins); a tenant token lists its own")] = "",
    side: Annotated[str, typer.Option(help="buyer (purchases) | seller (sales) | both (the default)")] = "",
    status: Annotated[str, typer.Option(help="|".join(STATUSES))] = "",
    product: Annotated[str, typer.Option("--product")] = "",
    page_size: Annotated[int, typer.Option("--page-size")] = 50,
    page_token: Annotated[str, typer.Option("--page-token")] = "",
) -> None:
    """Purchases and sales."""
    session = _session(ctx)
    session.flags = {"tenant_id": "--tenant", "side": "--side", "status": "--status", "product_id": "--product",
                     **PAGE_FLAGS}
    if side and side not in SIDES:
        fail(f"--side must be one of {', '.join(SIDES)}")
    if status and status not in STATUSES:
        fail(f"--status must be one of {', '.join(STATUSES)}")
    request = trades_pb2.ListOrdersRequest(tenant_id=tenant, side=SIDES.get(side, 0), status=STATUSES.get(status, 0),
                                           product_id=product, page={"page_size": page_size, "page_token": page_token})
    response = session.trades().ListOrders(request, timeout=session.timeout)
    show_many(session, response, response.orders, [
        ("order", lambda o: o.order_id), ("product", lambda o: o.product_title), ("buyer", lambda o: o.buyer.tenant_id),
        ("seller", lambda o: o.seller.tenant_id), ("gross", lambda o: money(o.settlement.gross)),
        ("fee", lambda o: money(o.settlement.fee)), ("status", status_of), ("placed", lambda o: when(o.placed_at)),
    ], title="Orders")


@app.command()
def refund(
    ctx: typer.Context,
    order_id: str,
    reason: Annotated[str, typer.Option(help="Required")],
    key: KeyOption = "",
) -> None:
    """Admin: reverse an order's settlement exactly (gross, fee and net), once."""
    session = _session(ctx)
    session.flags = {"reason": "--reason", "idempotency_key": "--key"}
    request = trades_pb2.RefundOrderRequest(order_id=order_id, reason=reason, idempotency_key=key or new_key("refund"))
    show_order(session, session.trades().RefundOrder(request, timeout=session.timeout))
