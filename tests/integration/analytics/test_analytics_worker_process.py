"""The worker process as a deployment runs it: its data directory need not exist, and it serves
/metrics (the chart's and compose's health checks ask it) with what its agents did."""

from __future__ import annotations

import asyncio
import random
import socket
import urllib.request

import pytest
from parkos.events.provisioning import ensure_topics

from services.analytics.topics import topic_specs
from tests.integration.analytics.analytics_park import (
    Publisher,
    Scenario,
    WorkerProcess,
    make_tenants,
    wait_for,
    worker_settings,
)

pytestmark = [pytest.mark.infra, pytest.mark.timeout(120)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=3) as response:
        return response.read().decode()


async def test_the_worker_makes_its_data_directory_and_serves_metrics(infra, workers, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data_dir = tmp_path / "not" / "there" / "yet"
    port = _free_port()
    settings = worker_settings(infra, data_dir=str(data_dir), metrics_port=port)
    await ensure_topics(infra.kafka_bootstrap, topic_specs(settings))
    worker = WorkerProcess(settings, infra.root, "worker").start()
    workers.append(worker)
    await worker.wait_assigned()

    assert data_dir.is_dir()
    text = await asyncio.to_thread(_metrics, port)
    assert 'parkos_analytics_worker_records_total{outcome="fact_applied"} 0.0' in text

    # one trade: a sale and a purchase applied, their two ids kept
    scenario = Scenario(settings, make_tenants(2, random.Random(3)), random.Random(4))
    async with Publisher(infra.kafka_bootstrap) as publisher:
        await publisher.publish([scenario.trade()])

    def counted() -> bool:
        text = _metrics(port)
        return ('parkos_analytics_worker_records_total{outcome="fact_applied"} 2.0' in text
                and "parkos_analytics_fact_ids_kept 2.0" in text)

    await wait_for(counted, 30, lambda: _metrics(port))

    # the loop the agents run on beats every second
    silence = next(float(line.split()[-1]) for line in _metrics(port).splitlines()
                   if line.startswith("parkos_analytics_worker_loop_silence_seconds "))
    assert silence < 5
