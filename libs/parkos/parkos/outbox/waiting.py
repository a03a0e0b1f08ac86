"""Waiting for an asyncio.Event with a time limit, without swallowing a cancellation.

Python 3.11's `asyncio.wait_for` returns the inner result when the waiter is cancelled
just as the inner future completes, dropping the cancellation: a `while True` loop around
it can then never be stopped. `asyncio.timeout` does not have that flaw.
"""
from __future__ import annotations

import asyncio


async def wait_set(event: asyncio.Event, seconds: float) -> bool:
    """Wait until `event` is set or `seconds` passed; whether it is set."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True
