"""The live terminal view of `make run` (rich), or plain lines when there is no terminal."""
from __future__ import annotations

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from parksim.activity import ActivityLog
from parksim.analytics_view import LiveFigures, revenue_table, top_tenants_table
from parksim.money_text import yuan, yuan_rounded
from parksim.snapshot import ParkSnapshot
from parksim.trades_traffic import TradesTraffic


def tenants_table(snapshot: ParkSnapshot) -> Table:
    """Tenants per sub-park and status, with each sub-park's trade fee."""
    table = Table(title=f"Tenants by sub-park ({snapshot.tenant_count} in all)", expand=True)
    for column in ("sub-park", "fee", "active", "pending", "suspended", "offboarded"):
        table.add_column(column, justify="left" if column == "sub-park" else "right")
    for sub_park_id, counts in snapshot.tenants_by_sub_park.items():
        fee = snapshot.trade_fee_bps.get(sub_park_id, 0)
        table.add_row(
            snapshot.sub_park_names.get(sub_park_id, sub_park_id), f"{fee // 100}.{fee % 100:02d}%",
            *(str(counts.get(status, 0)) for status in ("active", "pending", "suspended", "offboarded")),
        )
    return table


def activity_panel(activity: ActivityLog) -> Panel:
    """The latest actions and how many of each the simulator has done."""
    totals = "  ".join(f"{kind}: {count}" for kind, count in sorted(activity.counts.items()))
    # one screen line per action, cut short rather than wrapped, so the panel keeps its height
    lines = [Text(line, no_wrap=True, overflow="ellipsis") for line in activity.lines()] or [Text("starting...")]
    return Panel(Group(*lines), title=f"Activity  ({totals})")


def exchange_panel(exchange: TradesTraffic) -> Panel:
    """What the simulated buyers' orders settled so far (gross and the park's fees)."""
    totals = exchange.totals
    return Panel(
        f"orders settled: {totals.orders:,}   refunds: {totals.refunds:,}   "
        f"gross: {yuan(totals.gross_minor)} CNY   park fees: {yuan(totals.fee_minor)} CNY",
        title="Data exchange (this simulator's orders)",
    )


def render(snapshot: ParkSnapshot, activity: ActivityLog, exchange: TradesTraffic | None = None,
           figures: LiveFigures | None = None) -> Group:
    """The whole screen."""
    parts = [tenants_table(snapshot)]
    if exchange is not None:
        parts.append(exchange_panel(exchange))
    if figures is not None:
        parts += [revenue_table(figures, snapshot.sub_park_names), top_tenants_table(figures)]
    return Group(*parts, activity_panel(activity))


def summary_line(snapshot: ParkSnapshot, activity: ActivityLog, exchange: TradesTraffic | None = None,
                 figures: LiveFigures | None = None) -> str:
    """One line for a log or a pipe (no terminal)."""
    active = sum(counts.get("active", 0) for counts in snapshot.tenants_by_sub_park.values())
    totals = " ".join(f"{kind}={count}" for kind, count in sorted(activity.counts.items()))
    trades = ""
    if exchange is not None:
        trades = f" | orders={exchange.totals.orders} gross={yuan_rounded(exchange.totals.gross_minor)} CNY"
    live = ""
    if figures is not None and figures.park is not None:
        multiplier = figures.park.data_multiplier.decimal if figures.park.data_multiplier.denominator else "-"
        live = (f" | analytics: revenue={yuan_rounded(figures.park.revenue.amount_minor)} CNY"
                f" fees={yuan_rounded(figures.park.park_fees.amount_minor)} multiplier={multiplier}")
    return f"park: tenants={snapshot.tenant_count} active={active}{trades}{live} | {totals}"
