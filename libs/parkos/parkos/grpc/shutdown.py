"""Graceful shutdown on SIGTERM/SIGINT for asyncio services."""

from __future__ import annotations

import asyncio
import inspect
import signal
from collections.abc import Awaitable, Callable, Iterable

StopCallback = Callable[[], Awaitable[None] | None]


def install_signal_handlers(
    loop: asyncio.AbstractEventLoop,
    stop_callback: StopCallback,
    signals: Iterable[signal.Signals] = (signal.SIGTERM, signal.SIGINT),
) -> None:
    """Call ``stop_callback`` once on the first SIGTERM or SIGINT (sync or async callback).

    Later signals are ignored so a impatient second Ctrl-C does not cut the graceful
    stop short; an orchestrator escalates to SIGKILL when its grace period runs out.
    Typical use: ``install_signal_handlers(loop, stop_event.set)``.
    """
    pending: set[asyncio.Task[None]] = set()  # strong refs: the loop keeps only weak ones
    fired = False

    def on_signal() -> None:
        nonlocal fired
        if fired:
            return
        fired = True
        result = stop_callback()
        if inspect.isawaitable(result):
            task = loop.create_task(_await(result), name="parkos-graceful-stop")
            pending.add(task)
            task.add_done_callback(pending.discard)

    for sig in signals:
        loop.add_signal_handler(sig, on_signal)


async def _await(awaitable: Awaitable[None]) -> None:
    await awaitable
