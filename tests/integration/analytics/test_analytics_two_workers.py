"""Scale-out: two worker processes on the same topics split the partitions; totals stay exact
through a SIGKILL of one of them (the other takes its partitions) and its return (they split again).
"""

from __future__ import annotations

import asyncio
import copy
import random

import pytest
from parkos.events.provisioning import ensure_topics

from services.analytics.topics import topic_specs
from tests.integration.analytics.analytics_park import (
    Publisher,
    Scenario,
    WorkerProcess,
    make_tenants,
    mismatches,
    wait_for,
    worker_settings,
)

pytestmark = [pytest.mark.infra, pytest.mark.timeout(420)]


async def test_two_workers_split_the_partitions_and_totals_stay_exact_through_a_kill(
    infra, start_api, workers  # type: ignore[no-untyped-def]
) -> None:
    settings = worker_settings(infra)
    everything = list(range(settings.facts_partitions))
    await ensure_topics(infra.kafka_bootstrap, topic_specs(settings))
    api = await start_api(settings)
    rng = random.Random(7)
    tenants = make_tenants(60, rng)
    scenario = Scenario(settings, tenants, rng)
    first = list(scenario.mixed(1500))
    after_first = copy.deepcopy(scenario.expected)
    second = list(scenario.mixed(1500))

    a = WorkerProcess(settings, infra.root, "worker-a").start()
    workers.append(a)
    await a.wait_assigned()
    b = WorkerProcess(settings, infra.root, "worker-b").start()
    workers.append(b)
    await b.wait_assigned()
    await wait_for(lambda: _split(a, b, everything), 60, lambda: f"a={a.assignments} b={b.assignments}")

    async with Publisher(infra.kafka_bootstrap) as publisher:
        await publisher.publish(first, rate=500)
        await wait_for(lambda: not mismatches(api.view, after_first, tenants), 90,
                       lambda: f"{mismatches(api.view, after_first, tenants)}\n{_tails(a, b)}")
        publishing = asyncio.create_task(publisher.publish(second, rate=500))
        applied = api.view.applied
        await wait_for(lambda: api.view.applied >= applied + 300, 60, a.log_tail)
        a.kill()
        assignments_before = len(b.assignments)
        await wait_for(lambda: len(b.assignments) > assignments_before and b.assignments[-1] == everything, 60,
                       lambda: f"b={b.assignments}\n{b.log_tail()}")
        await publishing

    await wait_for(lambda: not mismatches(api.view, scenario.expected, tenants), 120,
                   lambda: f"{mismatches(api.view, scenario.expected, tenants)}\n{_tails(b)}")

    a = WorkerProcess(settings, infra.root, "worker-a2").start()
    workers.append(a)
    await wait_for(lambda: _split(a, b, everything), 60, lambda: f"a={a.assignments} b={b.assignments}")
    await asyncio.sleep(3)
    assert mismatches(api.view, scenario.expected, tenants) == {}


def _split(a: WorkerProcess, b: WorkerProcess, everything: list[int]) -> bool:
    """Both hold repartition partitions, none twice, all of them between them."""
    if not a.assignments or not b.assignments:
        return False
    mine, theirs = a.assignments[-1], b.assignments[-1]
    return bool(mine) and bool(theirs) and not set(mine) & set(theirs) and sorted(mine + theirs) == everything


def _tails(*workers: WorkerProcess) -> str:
    """The last log lines of each worker, headed by its name."""
    return "\n".join(f"--- {worker.name}:\n{worker.log_tail()}" for worker in workers)
