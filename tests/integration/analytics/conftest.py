"""Fixtures of the analytics integration tests: the API process in-process, worker processes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from park.analytics.v1 import analytics_pb2_grpc
from parkos.grpc import open_channel

from services.analytics.main import AnalyticsService
from services.analytics.settings import AnalyticsSettings
from tests.integration.analytics.analytics_park import WorkerProcess


class Api:
    """A running AnalyticsService and stubs to call it with."""

    def __init__(self, service: AnalyticsService) -> None:
        self.service = service
        self._channels: list = []

    @property
    def view(self):  # type: ignore[no-untyped-def]
        return self.service.view

    def stub(self, token: str | None) -> analytics_pb2_grpc.AnalyticsServiceStub:
        channel = open_channel(f"127.0.0.1:{self.service.port}", token=token)
        self._channels.append(channel)
        return analytics_pb2_grpc.AnalyticsServiceStub(channel)

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close()
        await self.service.stop()


@pytest.fixture
async def start_api(signing_keys) -> AsyncIterator:  # type: ignore[no-untyped-def]
    """``await start_api(settings)``: an API process on those settings, stopped after the test."""
    _, public_pem = signing_keys
    started: list[Api] = []

    async def start(settings: AnalyticsSettings) -> Api:
        service = AnalyticsService(settings, public_key_pem=public_pem)
        await service.start()
        await service.wait_ready(30)
        api = Api(service)
        started.append(api)
        return api

    yield start
    for api in started:
        await api.close()


@pytest.fixture
async def workers(infra) -> AsyncIterator[list[WorkerProcess]]:  # type: ignore[no-untyped-def]
    """Worker processes a test starts; whatever is still running is stopped after it.

    Stopped from a thread: a blocked event loop would starve the in-process API (and
    parkos' HealthReporter.close can then hang, see the report on Python 3.11 wait_for).
    """
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        with contextlib.suppress(Exception):
            await asyncio.to_thread(worker.stop)
