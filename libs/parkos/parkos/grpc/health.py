"""What the standard ``grpc.health.v1`` service reports, and why.

A server is SERVING only when it has started, nobody switched it off with
``set_serving(False)``, and every readiness check passes. Checks run once at start and
then every ``interval`` seconds, so a lost MongoDB turns the service NOT_SERVING and
load balancers stop sending it traffic until it comes back.

Liveness is a service of its own, ``parkos.liveness``: SERVING from the moment the server
has started until shutdown, whatever the readiness checks say. A liveness probe asks it,
so a replica waiting for MongoDB or Kafka is taken out of the load balancer but not
restarted over and over; one whose event loop hangs does not answer and is.

``close()`` always returns promptly, even with a check in flight: each check is bounded
with ``asyncio.timeout`` (not ``asyncio.wait_for``, which on Python 3.11 can lose a
cancellation that arrives as the check completes, gh-86296, and so left the checking
loop running and ``close()`` waiting on it forever), and ``close()`` cancels the loop
again until it ends, giving up after the check timeout plus a second.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from grpc_health.v1 import health, health_pb2

# A readiness check fails by raising, timing out, or returning False.
ReadinessCheck = Callable[[], Awaitable[object]]

# close(): how often the checking loop is cancelled again while it has not ended, and how
# much longer than one check it may take to end before close() stops waiting for it.
_RECANCEL_EVERY = 0.1
_STOP_MARGIN = 1.0

LIVENESS_SERVICE = "parkos.liveness"
_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class HealthReporter:
    """Owns the aio ``HealthServicer`` and keeps every service's status up to date."""

    def __init__(
        self,
        checks: Mapping[str, ReadinessCheck],
        *,
        interval: float,
        timeout: float,
        logger: Any,
    ) -> None:
        self.servicer = health.aio.HealthServicer()
        self._checks = dict(checks)
        self._interval = interval
        self._timeout = timeout
        self._logger = logger
        self._services: list[str] = [""]
        self._wanted = True
        self._checks_pass = False
        self._started = False
        self._closing = False
        self._serving: bool | None = None
        self._loop_task: asyncio.Task[None] | None = None
        # The checking loop and set_serving() both publish; a lock keeps every service's
        # status from one decision instead of a mix of two interleaved ones.
        self._publishing = asyncio.Lock()

    def track(self, service_name: str) -> None:
        """Report ``service_name`` alongside the overall ("") status."""
        self._services.append(service_name)

    async def prepare(self) -> None:
        """Mark everything NOT_SERVING before the port opens (the servicer starts SERVING)."""
        await self.servicer.set(LIVENESS_SERVICE, _NOT_SERVING)
        await self._publish()

    async def open(self) -> None:
        """After the server started: alive; run the checks, publish, and keep checking."""
        self._started = True
        await self.servicer.set(LIVENESS_SERVICE, _SERVING)
        await self.refresh()
        if self._checks:
            self._loop_task = asyncio.create_task(self._check_forever(), name="parkos-readiness")

    async def set_serving(self, serving: bool) -> None:
        """Force NOT_SERVING (False) or go back to following the checks (True)."""
        self._wanted = serving
        await self._publish()

    async def refresh(self) -> bool:
        """Run the readiness checks now and publish the result; returns whether serving."""
        self._checks_pass = await self._run_checks()
        return await self._publish()

    async def close(self) -> None:
        """Stop checking and report NOT_SERVING for good (graceful shutdown)."""
        self._closing = True
        if self._loop_task is not None:
            await self._stop_checking(self._loop_task)
        await self.servicer.enter_graceful_shutdown()

    async def _check_forever(self) -> None:
        while not self._closing:
            await asyncio.sleep(self._interval)
            await self.refresh()

    async def _stop_checking(self, task: asyncio.Task[None]) -> None:
        """Cancel the checking loop until it has ended; a lost cancellation is simply repeated.

        A check that ignores cancellation keeps it running: after the check timeout plus
        ``_STOP_MARGIN`` the loop is left to end on its own (it stops at its next turn).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout + _STOP_MARGIN
        while not task.done():
            remaining = deadline - loop.time()
            if remaining <= 0:
                self._logger.warning("readiness_loop_not_stopped", waited_s=round(self._timeout + _STOP_MARGIN, 3))
                return
            task.cancel()
            await asyncio.wait({task}, timeout=min(remaining, _RECANCEL_EVERY))
        if not task.cancelled() and task.exception() is not None:
            self._logger.error("readiness_loop_failed", error=repr(task.exception()))

    async def _run_checks(self) -> bool:
        failing = [name for name, check in self._checks.items() if not await self._passes(name, check)]
        if failing and self._serving is not False:
            self._logger.warning("readiness_failed", checks=failing)
        return not failing

    async def _passes(self, name: str, check: ReadinessCheck) -> bool:
        try:
            async with asyncio.timeout(self._timeout):
                return await check() is not False
        except Exception as exc:  # any failure of a probe means "not ready", not a crash
            self._logger.debug("readiness_check_error", check=name, error=repr(exc))
            return False

    async def _publish(self) -> bool:
        async with self._publishing:
            serving = self._started and self._wanted and (self._checks_pass or not self._checks)
            if serving != self._serving:
                self._logger.info("health_changed", serving=serving)
            self._serving = serving
            status = _SERVING if serving else _NOT_SERVING
            for service in self._services:
                await self.servicer.set(service, status)
            return serving
