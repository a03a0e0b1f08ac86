"""``parkctl pools ...``: demand pools, where scattered buyers reach volume prices together."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from google.protobuf.timestamp_pb2 import Timestamp
from park.trades.v1 import events_pb2, trades_pb2

from parkctl.durations import duration_arg
from parkctl.orders import KeyOption, new_key, show_order
from parkctl.output import enum_name, fail, money, show_many, show_one, when
from parkctl.session import PAGE_FLAGS, Session

app = typer.Typer(help="Demand pools: open, join, show, list.", no_args_is_help=True)

STATUSES = {"open": trades_pb2.POOL_STATUS_OPEN, "closed": trades_pb2.POOL_STATUS_CLOSED,
            "cancelled": trades_pb2.POOL_STATUS_CANCELLED}


def _session(ctx: typer.Context) -> Session:
    return ctx.obj


def _tiers(values: list[str]) -> list[events_pb2.VolumeTier]:
    tiers = []
    for value in values:
        buyers, _, bps = value.partition(":")
        if not buyers.isdigit() or not bps.isdigit():
            fail(f"--tier {value!r}: use MIN_BUYERS:DISCOUNT_BPS, e.g. 5:2000 (20% off from 5 buyers)")
        tiers.append(events_pb2.VolumeTier(min_buyers=int(buyers), discount_bps=int(bps)))
    return tiers


def _closes_at(closes_in: str) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(datetime.now(UTC) + duration_arg(closes_in, "--closes-in"))
    return stamp


def show_pool(session: Session, pool: trades_pb2.Pool) -> None:
    tiers = [f"{t.min_buyers}+ buyers: {t.discount_bps / 100:g}% off" for t in pool.tiers]
    show_one(session, pool, [
        ("pool", pool.pool_id), ("product", pool.product_id), ("seller", pool.seller_tenant_id),
        ("status", enum_name(trades_pb2.PoolStatus, pool.status, "POOL_STATUS_")), ("list price", money(pool.list_price)),
        ("tiers", tiers), ("members", pool.members), ("tier reached", f"{pool.discount_bps / 100:g}% off"),
        ("unit price", money(pool.unit_price)), ("closes", when(pool.closes_at)), ("closed", when(pool.closed_at)),
        ("cancel reason", pool.cancel_reason),
    ])


@app.command("open")
def open_pool(
    ctx: typer.Context,
    product_id: str,
    tier: Annotated[list[str], typer.Option("--tier", help="MIN_BUYERS:DISCOUNT_BPS, ascending (repeat)")],
    closes_in: Annotated[str, typer.Option("--closes-in", help="e.g. 30m, 12h, 7d")] = "24h",
) -> None:
    """The seller (or an admin): a pool on an approved product; e.g. --tier 1:0 --tier 5:2000 --tier 10:3500."""
    session = _session(ctx)
    session.flags = {"tiers": "--tier", "closes_at": "--closes-in"}
    request = trades_pb2.OpenPoolRequest(product_id=product_id, tiers=_tiers(tier), closes_at=_closes_at(closes_in))
    show_pool(session, session.trades().OpenPool(request, timeout=session.timeout))


@app.command()
def join(
    ctx: typer.Context,
    pool_id: str,
    buyer: Annotated[str, typer.Option("--buyer", help="The buying tenant (admins; a tenant token joins as itself)")] = "",
    key: KeyOption = "",
) -> None:
    """Join an open pool; the order settles at the tier reached when the pool closes."""
    session = _session(ctx)
    session.flags = {"buyer_tenant_id": "--buyer", "idempotency_key": "--key"}
    request = trades_pb2.JoinPoolRequest(pool_id=pool_id, buyer_tenant_id=buyer, idempotency_key=key or new_key("join"))
    show_order(session, session.trades().JoinPool(request, timeout=session.timeout))


@app.command()
def get(ctx: typer.Context, pool_id: str) -> None:
    """Show one pool: its tiers, how many members joined, the tier reached, the unit price and when it closes."""
    session = _session(ctx)
    show_pool(session, session.trades().GetPool(trades_pb2.GetPoolRequest(pool_id=pool_id), timeout=session.timeout))


@app.command("list")
def list_pools(
    ctx: typer.Context,
    product: Annotated[str, typer.Option("--product")] = "",
    seller: Annotated[str, typer.Option("--seller")] = "",
    status: Annotated[str, typer.Option(help="open|closed|cancelled")] = "",
    page_size: Annotated[int, typer.Option("--page-size")] = 50,
    page_token: Annotated[str, typer.Option("--page-token")] = "",
) -> None:
    """Pools, oldest first."""
    session = _session(ctx)
    session.flags = {"product_id": "--product", "seller_tenant_id": "--seller", "status": "--status", **PAGE_FLAGS}
    if status and status not in STATUSES:
        fail(f"--status must be one of {', '.join(STATUSES)}")
    request = trades_pb2.ListPoolsRequest(product_id=product, seller_tenant_id=seller, status=STATUSES.get(status, 0),
                                          page={"page_size": page_size, "page_token": page_token})
    response = session.trades().ListPools(request, timeout=session.timeout)
    show_many(session, response, response.pools, [
        ("pool", lambda p: p.pool_id), ("product", lambda p: p.product_id), ("members", lambda p: p.members),
        ("unit price", lambda p: money(p.unit_price)),
        ("status", lambda p: enum_name(trades_pb2.PoolStatus, p.status, "POOL_STATUS_")),
        ("closes", lambda p: when(p.closes_at)),
    ], title="Pools")
