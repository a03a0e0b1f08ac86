"""HealthReporter.close(): it returns promptly whatever the readiness loop is doing.

On Python 3.11 ``asyncio.wait_for`` can lose a cancellation that arrives as the awaited
check completes (gh-86296); the reporter then kept checking and ``close()`` waited on it
forever. These tests close it while idle, with a check stuck, at the moment a check
completes, and with checks that swallow cancellations.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog
from grpc_health.v1 import health_pb2

from parkos.grpc.health import HealthReporter

PROMPTLY = 1.0  # seconds: far above what a close takes, far below a hang


async def _opened(check: Callable[[], Awaitable[object]], *, interval: float, timeout: float = 5.0) -> HealthReporter:
    reporter = HealthReporter({"probe": check}, interval=interval, timeout=timeout, logger=structlog.get_logger())
    reporter.track("park.test.v1.Probe")
    await reporter.prepare()
    await reporter.open()
    return reporter


async def _close_time(reporter: HealthReporter, limit: float = 10.0) -> float:
    """Seconds ``close()`` took; fails (instead of hanging the run) after ``limit``."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    closing = asyncio.create_task(reporter.close())
    done, _ = await asyncio.wait({closing}, timeout=limit)
    assert done, f"close() did not return within {limit} s"
    await closing
    return loop.time() - started


async def _status(reporter: HealthReporter, service: str = "") -> int:
    reply = await reporter.servicer.Check(health_pb2.HealthCheckRequest(service=service), None)
    return reply.status


async def _until(predicate: Callable[[], bool]) -> None:
    for _ in range(500):
        if predicate():
            return
        await asyncio.sleep(0.002)
    raise AssertionError("the readiness loop never got there")


async def test_closing_while_idle_returns_promptly_and_reports_not_serving() -> None:
    async def ready() -> bool:
        return True

    reporter = await _opened(ready, interval=60)
    assert await _status(reporter) == health_pb2.HealthCheckResponse.SERVING
    assert await _close_time(reporter) < PROMPTLY
    for service in ("", "park.test.v1.Probe"):
        assert await _status(reporter, service) == health_pb2.HealthCheckResponse.NOT_SERVING


async def test_closing_with_a_check_in_flight_cancels_it_and_returns_promptly() -> None:
    calls, cancelled = [], asyncio.Event()

    async def stuck() -> bool:
        calls.append(1)
        if len(calls) == 1:  # the check open() runs itself
            return True
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return True

    reporter = await _opened(stuck, interval=0.01, timeout=30)
    await _until(lambda: len(calls) == 2)
    assert await _close_time(reporter) < PROMPTLY
    assert cancelled.is_set()


async def test_closing_as_a_check_completes_returns_promptly() -> None:
    """The 3.11 race: the loop is cancelled in the loop turn its check finishes."""
    calls, release = [], asyncio.Event()

    async def gated() -> bool:
        calls.append(1)
        if len(calls) > 1:
            await release.wait()
        return True

    reporter = await _opened(gated, interval=0.01)
    await _until(lambda: len(calls) == 2)
    release.set()  # the check finishes in the same loop turn close() cancels the loop
    assert await _close_time(reporter) < PROMPTLY


async def test_a_check_swallowing_a_cancellation_does_not_keep_close_waiting() -> None:
    calls, swallowed = [], []

    async def stubborn_once() -> bool:
        calls.append(1)
        if len(calls) == 1:
            return True
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            swallowed.append(1)  # ... and report "not ready": the loop goes on to sleep
        return False

    reporter = await _opened(stubborn_once, interval=0.01, timeout=30)
    await _until(lambda: len(calls) == 2)
    assert await _close_time(reporter) < PROMPTLY
    assert swallowed == [1]


async def test_a_check_ignoring_cancellation_holds_close_only_for_the_check_timeout() -> None:
    calls, release = [], asyncio.Event()

    async def deaf() -> bool:
        calls.append(1)
        while len(calls) > 1 and not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue
        return True

    reporter = await _opened(deaf, interval=0.01, timeout=0.2)
    await _until(lambda: len(calls) == 2)
    with structlog.testing.capture_logs() as logs:
        waited = await _close_time(reporter)
    release.set()  # lets the abandoned loop end on its own, at its next turn
    assert 0.2 <= waited < 0.2 + 1.0 + PROMPTLY
    assert [entry["event"] for entry in logs if entry["log_level"] == "warning"] == ["readiness_loop_not_stopped"]
    assert await _status(reporter) == health_pb2.HealthCheckResponse.NOT_SERVING
    await asyncio.sleep(0.05)
    assert len(calls) == 2  # no check ran after close()


async def test_liveness_is_serving_while_readiness_fails_and_not_after_shutdown() -> None:
    from parkos.grpc.health import LIVENESS_SERVICE

    async def waiting_for_kafka() -> bool:
        return False

    reporter = HealthReporter({"probe": waiting_for_kafka}, interval=60, timeout=5, logger=structlog.get_logger())
    await reporter.prepare()
    assert await _status(reporter, LIVENESS_SERVICE) == health_pb2.HealthCheckResponse.NOT_SERVING  # not started
    await reporter.open()
    assert await _status(reporter) == health_pb2.HealthCheckResponse.NOT_SERVING  # not ready: no traffic
    assert await _status(reporter, LIVENESS_SERVICE) == health_pb2.HealthCheckResponse.SERVING  # but not restarted
    await reporter.close()
    assert await _status(reporter, LIVENESS_SERVICE) == health_pb2.HealthCheckResponse.NOT_SERVING
