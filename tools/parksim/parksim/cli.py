"""`parksim run`: drive the park and watch it (what `make run` shows)."""
from __future__ import annotations

import asyncio
import random
import signal
import sys
from pathlib import Path

import grpc
import typer
from rich.console import Console
from rich.live import Live

from parksim.activity import ActivityLog
from parksim.analytics_view import LiveFigures
from parksim.clients import ParkClients, mint_admin_token
from parksim.snapshot import take_snapshot
from parksim.tenant_tokens import TenantTokens
from parksim.tenants_traffic import TenantsTraffic
from parksim.trades_traffic import TradesTraffic
from parksim.view import render, summary_line

app = typer.Typer(add_completion=False, help="The Park OS simulator.")


@app.callback()
def _root() -> None:
    """Drive traffic through the park's public gRPC APIs."""


@app.command()
def run(
    signing_key: Path = typer.Option(..., exists=True, dir_okay=False, help="the park's token-signing key (PEM)"),
    tenants_target: str = typer.Option("127.0.0.1:50051", help="host:port of the tenants service"),
    trades_target: str = typer.Option("", help="host:port of the trades service; empty: no exchange traffic"),
    analytics_target: str = typer.Option("", help="host:port of the analytics service; empty: no live figures"),
    actions_per_second: float = typer.Option(4.0, min=0.1, help="how busy the park is"),
    duration: float = typer.Option(0.0, min=0.0, help="seconds to run; 0 runs until Ctrl-C"),
    seed: int | None = typer.Option(None, help="random seed, for a repeatable run on an empty store "
                                                "(default: a new one each run, so a restarted simulator "
                                                "does not invent the enterprises it registered before)"),
) -> None:
    """Register enterprises, declare revenue, list and trade data products; show the park live."""
    clients = ParkClients(tenants_target=tenants_target, token=mint_admin_token(signing_key),
                          trades_target=trades_target or None, analytics_target=analytics_target or None)
    try:
        asyncio.run(_simulate(clients, actions_per_second, duration, random.Random(seed)))
    except (KeyboardInterrupt, asyncio.CancelledError):  # Ctrl-C, or SIGTERM (see _simulate)
        pass


async def _simulate(clients: ParkClients, rate: float, duration: float, rng: random.Random) -> None:
    # a plain `kill` ends the run as Ctrl-C does: the live screen is put away, the clients closed
    current = asyncio.current_task()
    assert current is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, current.cancel)
    activity = ActivityLog()
    tenants = TenantsTraffic(clients, activity, rng)
    await tenants.prepare()
    streams = [tenants]
    exchange = None
    if clients.trades_target:
        exchange = TradesTraffic(clients, TenantTokens(clients), tenants.active_tenant_ids, activity, rng,
                                 tenants.name_of)
        streams.append(exchange)
    background = [asyncio.create_task(_drive(streams, rate, activity, rng))]
    figures = None
    if clients.analytics_target:
        figures = LiveFigures(clients.analytics())
        background.append(asyncio.create_task(figures.follow()))
    try:
        await _show(clients, activity, exchange, figures, duration)
    finally:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await clients.close()


async def _drive(streams: list, rate: float, activity: ActivityLog, rng: random.Random) -> None:
    # the tenants' own business (joining, declaring revenue) is a third of what happens
    weights = [1.0] + [2.0] * (len(streams) - 1)
    while True:
        try:
            await rng.choices(streams, weights)[0].step()
        except grpc.aio.AioRpcError as error:
            # a refused call is part of a real park's day: show it and go on
            activity.record("refused", f"{error.code().name}: {error.details()}")
        await asyncio.sleep(1.0 / rate)


async def _show(clients: ParkClients, activity: ActivityLog, exchange: TradesTraffic | None,
                figures: LiveFigures | None, duration: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + duration if duration else None
    console = Console()
    if not console.is_terminal:
        while deadline is None or loop.time() < deadline:
            await asyncio.sleep(2.0)
            print(summary_line(await _screen_data(clients, figures), activity, exchange, figures), flush=True)
            for line in reversed(activity.lines()[:3]):
                print(f"    {line}", flush=True)
        return
    with Live(render(await _screen_data(clients, figures), activity, exchange, figures), console=console,
              refresh_per_second=2) as live:
        while deadline is None or loop.time() < deadline:
            await asyncio.sleep(1.0)
            live.update(render(await _screen_data(clients, figures), activity, exchange, figures))


async def _screen_data(clients: ParkClients, figures: LiveFigures | None):
    """The tenants snapshot, and the analytics figures per sub-park when analytics runs."""
    snapshot = await take_snapshot(clients)
    if figures is not None:
        try:
            await figures.refresh_sub_parks(list(snapshot.sub_park_names))
        except grpc.aio.AioRpcError:
            pass  # analytics restarting: the screen keeps its last figures
    return snapshot


def main() -> None:
    """Console-script entry point."""
    app(prog_name="parksim")
    sys.exit(0)
