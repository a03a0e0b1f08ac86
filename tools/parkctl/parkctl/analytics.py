"""``parkctl analytics ...``: the park's live numbers (revenue, multiplier, valuations).

    parkctl analytics revenue --dimension sub-park --key sp-energy --window day
    parkctl analytics tenant ten_01...
    parkctl analytics watch            # a live terminal view, updated as trades settle
    parkctl --json analytics watch     # the same updates as JSON lines, for scripts
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated

import grpc
import typer
from park.analytics.v1 import analytics_pb2, analytics_pb2_grpc
from park.common.v1.money_pb2 import Money
from rich.console import Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from parkctl.output import as_json, console, fail, literal, money, show_many, show_one, when
from parkctl.session import Session

DEFAULT_ANALYTICS_TARGET = "127.0.0.1:50055"
DIMENSIONS = {
    "park": analytics_pb2.DIMENSION_PARK, "sub-park": analytics_pb2.DIMENSION_SUB_PARK,
    "sector": analytics_pb2.DIMENSION_SECTOR, "tenant": analytics_pb2.DIMENSION_TENANT,
}
WINDOWS = {"all-time": analytics_pb2.WINDOW_ALL_TIME, "hour": analytics_pb2.WINDOW_HOUR, "day": analytics_pb2.WINDOW_DAY}

app = typer.Typer(help="Analytics: revenue by park, sub-park, sector, tenant; valuations; a live view.",
                  no_args_is_help=True)


@app.callback()
def target(
    ctx: typer.Context,
    analytics_target: Annotated[str, typer.Option("--target", envvar="PARKCTL_ANALYTICS_TARGET",
                                                  help="host:port of the analytics service")] = DEFAULT_ANALYTICS_TARGET,
) -> None:
    """Where the analytics service is (before the command)."""
    session: Session = ctx.obj
    ctx.obj = (session, session.analytics(analytics_target))


def _context(ctx: typer.Context) -> tuple[Session, analytics_pb2_grpc.AnalyticsServiceStub]:
    return ctx.obj


def _figure_rows(figures: analytics_pb2.RevenueFigures) -> list[tuple[str, object]]:
    multiplier = figures.data_multiplier
    return [
        ("revenue", money(figures.revenue)), ("data sales (net)", money(figures.data_sales_net)),
        ("declared revenue", money(figures.declared_revenue)), ("park fees", money(figures.park_fees)),
        ("data sales (gross)", money(figures.data_sales_gross)), ("data spend", money(figures.data_spend)),
        ("data multiplier", multiplier.decimal or "-"), ("trades sold / bought", f"{figures.trades_sold} / {figures.trades_bought}"),
    ]


@app.command()
def revenue(
    ctx: typer.Context,
    dimension: Annotated[str, typer.Option(help="park | sub-park | sector | tenant")] = "park",
    key: Annotated[str, typer.Option(help="The sub-park, sector or tenant id (empty for the park)")] = "",
    window: Annotated[str, typer.Option(help="all-time | hour | day")] = "all-time",
    at: Annotated[str, typer.Option(help="An instant in the wanted hour/day, ISO 8601 (default: now)")] = "",
) -> None:
    """Revenue figures of one slice of the park."""
    session, stub = _context(ctx)
    session.flags = {"dimension": "--dimension", "key": "--key", "window": "--window", "at": "--at"}
    # each checked on its own: the message names the option that is wrong
    if dimension not in DIMENSIONS:
        fail(f"--dimension {dimension!r} must be one of {', '.join(DIMENSIONS)}")
    if window not in WINDOWS:
        fail(f"--window {window!r} must be one of {', '.join(WINDOWS)}")
    request = analytics_pb2.GetParkRevenueRequest(dimension=DIMENSIONS[dimension], key=key, window=WINDOWS[window])
    if at:
        try:
            request.at.FromDatetime(datetime.fromisoformat(at))
        except ValueError:
            fail(f"--at {at!r} is not an ISO 8601 instant")
    response = stub.GetParkRevenue(request, timeout=session.timeout)
    span = f"{when(response.window_start)} .. {when(response.window_end)}" if response.window_start.seconds else "all time"
    show_one(session, response, [
        ("slice", f"{dimension} {key}".strip()), ("window", span), ("tenants", response.tenants),
        *_figure_rows(response.figures),
    ])


@app.command()
def tenant(
    ctx: typer.Context,
    tenant_id: str,
    history: Annotated[int, typer.Option(help="Valuations and days of history to show")] = 10,
) -> None:
    """A tenant's figures, data-asset valuation and their history."""
    session, stub = _context(ctx)
    session.flags = {"history_limit": "--history"}
    metrics = stub.GetTenantMetrics(
        analytics_pb2.GetTenantMetricsRequest(tenant_id=tenant_id, history_limit=history), timeout=session.timeout
    )
    v = metrics.valuation
    show_one(session, metrics, [
        ("tenant", metrics.tenant_id), ("legal name", metrics.legal_name), ("sub-park", metrics.sub_park_id),
        ("sector", metrics.sector_id), *_figure_rows(metrics.all_time),
        ("distinct buyers", metrics.distinct_buyers),
        ("valuation", f"{money(v.valuation)} (trailing {v.window_days} d {money(v.trailing_net_revenue)} x "
                      f"{v.capitalization_multiple} x quality {v.quality_factor_bps} bps)" if v.event_id else "none yet"),
        ("credit line hint", money(v.credit_line_hint) if v.event_id else ""), ("updated", when(metrics.updated_at)),
    ])
    if not session.json and metrics.valuation_history:
        show_many(session, metrics, metrics.valuation_history, [
            ("valued at", lambda h: when(h.valued_at)), ("valuation", lambda h: money(h.valuation)),
            ("trailing net", lambda h: money(h.trailing_net_revenue)), ("buyers", lambda h: h.distinct_buyers),
            ("quality bps", lambda h: h.quality_factor_bps), ("credit line", lambda h: money(h.credit_line_hint)),
        ], title="Valuation history (newest first)")


@app.command()
def watch(
    ctx: typer.Context,
    top: Annotated[int, typer.Option(help="How many tenants to rank")] = 10,
    seconds: Annotated[float, typer.Option(help="Stop after this many seconds (0: until Ctrl-C)")] = 0.0,
    tenant: Annotated[list[str] | None, typer.Option(
        "--tenant", show_default=False,
        help="Watch only this tenant (repeat for several); default: a tenant token's own tenant, an admin's whole park",
    )] = None,
) -> None:
    """A live view: park revenue by sub-park, top tenants, the multiplier, valuations.

    Whom it shows: the tenants given with --tenant; else, with a tenant token, that tenant (the one
    the token is bound to: a tenant may watch only itself); else, with an admin token, the whole
    park and its park-wide figures. With --json it prints one JSON object per update (JSON lines).
    """
    session, stub = _context(ctx)
    session.flags = {"tenant_ids": "--tenant"}
    request = watch_request(session, tenant or [])
    updates = stub.StreamParkMetrics(request, timeout=seconds or None)
    try:
        if session.json:
            _print_updates(updates)
        else:
            _show_live(updates, Board(top, whole_park=request.include_park))
    except grpc.RpcError as error:
        if error.code() not in (grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED):
            raise
    except KeyboardInterrupt:
        pass
    finally:
        updates.cancel()


def watch_request(session: Session, tenant_ids: list[str]) -> analytics_pb2.StreamParkMetricsRequest:
    """The tenants named, else a tenant token's own tenant, else the whole park with its figures."""
    own = session.token_tenant()
    wanted = tenant_ids or ([own] if own else [])
    # park-wide figures are for admins, and only make sense beside the whole park
    return analytics_pb2.StreamParkMetricsRequest(tenant_ids=wanted, include_park=not wanted)


def _print_updates(updates: Iterable[analytics_pb2.ParkMetricsUpdate]) -> None:
    for update in updates:
        # one object a line, flushed at once: a script reads each update as it happens
        print(json.dumps(as_json(update), ensure_ascii=False), flush=True)


def _show_live(updates: Iterable[analytics_pb2.ParkMetricsUpdate], board: Board) -> None:
    with Live(board.render(), console=console, refresh_per_second=4, transient=False) as live:
        for update in updates:
            board.apply(update)
            live.update(board.render())


class Board:
    """What the live view shows, kept from the stream's snapshot and changes."""

    def __init__(self, top: int, whole_park: bool = True) -> None:
        self.top = top
        self.whole_park = whole_park
        self.tenants: dict[str, analytics_pb2.TenantSummary] = {}
        self.park = analytics_pb2.RevenueFigures()
        self.updates = 0

    def apply(self, update: analytics_pb2.ParkMetricsUpdate) -> None:
        self.tenants[update.tenant.tenant_id] = update.tenant
        if update.HasField("park"):
            self.park = update.park
        self.updates += 1

    def render(self) -> Group:
        return Group(self._heading(), self._sub_parks(), self._leaders())

    def _heading(self) -> RenderableType:
        title = f"Park OS - live ({len(self.tenants)} tenants, {self.updates} updates)"
        if not self.whole_park:  # no park-wide figures: they are streamed for the whole park only
            return Text(title, style="table.title")
        park = Table(title=title, show_header=False)
        for name, value in _figure_rows(self.park):
            park.add_row(name, literal(value))
        return park

    def _sub_parks(self) -> Table:
        by_sub_park: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        currency = self.park.revenue.currency or "CNY"
        for summary in self.tenants.values():
            row = by_sub_park[summary.sub_park_id or "?"]
            row[0] += summary.all_time.revenue.amount_minor
            row[1] += summary.all_time.park_fees.amount_minor
            row[2] += 1
        sub_parks = Table(title="Revenue by sub-park")
        for header in ("sub-park", "revenue", "park fees", "tenants"):
            sub_parks.add_column(header, justify="right" if header != "sub-park" else "left")
        for name, (revenue_minor, fees, count) in sorted(by_sub_park.items(), key=lambda item: -item[1][0]):
            sub_parks.add_row(literal(name), _money(revenue_minor, currency), _money(fees, currency), str(count))
        return sub_parks

    def _leaders(self) -> Table:
        leaders = Table(title=f"Top {self.top} tenants by revenue")
        for header in ("tenant", "sub-park", "revenue", "multiplier", "valuation", "buyers"):
            leaders.add_column(header, justify="left" if header in ("tenant", "sub-park") else "right")
        ranked = sorted(self.tenants.values(), key=lambda s: -s.all_time.revenue.amount_minor)[: self.top]
        for s in ranked:
            leaders.add_row(
                literal(s.legal_name or s.tenant_id), literal(s.sub_park_id), money(s.all_time.revenue),
                literal(s.all_time.data_multiplier.decimal or "-"), money(s.valuation.valuation) or "-",
                str(s.distinct_buyers),
            )
        return leaders


def _money(amount_minor: int, currency: str) -> str:
    return money(Money(amount_minor=amount_minor, currency=currency))
