"""Drivers that put an async operation under load and time every call.

- `run_closed_loop`: C workers each call the operation again as soon as the previous
  call returns; the throughput it reaches is what the system sustains at that concurrency.
- `sweep_closed_loop`, `best_throughput`: the closed loop at a few concurrencies in turn,
  and the one that got the most through (the sustainable rate).
- `run_open_loop`: calls start on a fixed schedule (rate per second) whatever the
  previous calls are doing, as real clients do; latency is measured from the *intended*
  start, so a stalled system is not hidden by a driver that slowed down with it
  (coordinated omission).

The operation is any `async def op() -> None`; an exception counts as an error and the
load goes on.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from bench.common.stats import LatencyHistogram, rate

Operation = Callable[[], Awaitable[object]]
K = TypeVar("K")

LATE_SECONDS = 0.010  # an open-loop start this far behind its slot counts as late


@dataclass
class LoadResult:
    """What one load run did."""

    completed: int = 0
    errors: int = 0
    seconds: float = 0.0
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    first_error: str | None = None
    late_starts: int = 0  # open loop: calls that started more than LATE_SECONDS after their slot
    max_start_lag: float = 0.0  # open loop: the worst slip of a start behind its slot, seconds
    max_in_flight: int = 0
    offered_rate: float = 0.0  # open loop: the schedule's rate

    @property
    def throughput(self) -> float:
        """Completed calls per second of the measured window."""
        return rate(self.completed, self.seconds)

    def _error(self, error: BaseException) -> None:
        self.errors += 1
        if self.first_error is None:
            self.first_error = f"{type(error).__name__}: {error}"


async def run_closed_loop(
    op: Operation, *, concurrency: int, seconds: float, warmup_seconds: float = 0.5
) -> LoadResult:
    """`concurrency` workers call `op` back to back for `warmup_seconds` + `seconds`.

    Only calls that complete inside the measured window (after the warm-up) count.
    """
    result = LoadResult(max_in_flight=concurrency)
    start = time.monotonic()
    window_start = start + warmup_seconds
    window_end = window_start + seconds

    async def worker() -> None:
        while (began := time.monotonic()) < window_end:
            try:
                await op()
            except Exception as error:  # noqa: BLE001 - a failed call is a figure, not a crash
                result._error(error)
                continue
            done = time.monotonic()
            if window_start <= began and done <= window_end:
                result.completed += 1
                result.latency.record(done - began)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.seconds = seconds
    return result


async def sweep_closed_loop(
    op: Operation,
    concurrencies: Iterable[int],
    *,
    seconds: float,
    warmup_seconds: float = 0.5,
    before: Callable[[int], None] | None = None,
) -> dict[int, LoadResult]:
    """`run_closed_loop` at each concurrency, one after the other; concurrency -> result.

    `before(concurrency)` is called before each step (a progress line, say).
    """
    results = {}
    for concurrency in concurrencies:
        if before is not None:
            before(concurrency)
        results[concurrency] = await run_closed_loop(
            op, concurrency=concurrency, seconds=seconds, warmup_seconds=warmup_seconds
        )
    return results


def best_throughput(results: Mapping[K, LoadResult]) -> tuple[K, LoadResult]:
    """The entry with the highest throughput (the first of equals): the rate the system sustains."""
    return max(results.items(), key=lambda item: item[1].throughput)


async def run_open_loop(
    op: Operation, *, rate_per_second: float, seconds: float, max_in_flight: int = 256
) -> LoadResult:
    """Start `op` every 1/rate seconds for `seconds`, without waiting for earlier calls.

    At most `max_in_flight` calls run at once: past that the schedule slips, and every
    slipped start is counted in `late_starts` (the latency still counts from the slot).
    Returns once every started call has finished.
    """
    if rate_per_second <= 0:
        raise ValueError("rate_per_second must be positive")
    result = LoadResult(offered_rate=rate_per_second)
    total = max(1, int(rate_per_second * seconds))
    interval = 1.0 / rate_per_second
    slots = asyncio.Semaphore(max_in_flight)
    in_flight = 0
    tasks: set[asyncio.Task] = set()

    async def call(slot_time: float) -> None:
        nonlocal in_flight
        try:
            await op()
        except Exception as error:  # noqa: BLE001
            result._error(error)
        else:
            result.completed += 1
            result.latency.record(time.monotonic() - slot_time)
        finally:
            in_flight -= 1
            slots.release()

    start = time.monotonic()
    for number in range(total):
        slot_time = start + number * interval
        delay = slot_time - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await slots.acquire()
        lag = time.monotonic() - slot_time
        result.max_start_lag = max(result.max_start_lag, lag)
        if lag > LATE_SECONDS:
            result.late_starts += 1
        in_flight += 1
        result.max_in_flight = max(result.max_in_flight, in_flight)
        task = asyncio.create_task(call(slot_time))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.gather(*tasks)
    result.seconds = time.monotonic() - start
    return result
