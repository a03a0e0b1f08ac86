"""Fact ids are forgotten after PARKOS_FACT_IDS_KEPT_SECONDS, and only then, also across a restart.

A real worker with a 3 s horizon: a re-sent trade inside the horizon is still recognised
and counted once; once the horizon has passed, the next fact of the same partition deletes
the old ids (a tombstone each on the fact-offsets changelog, which a restarted worker
recovers from); the newest ids stay.
"""

from __future__ import annotations

import asyncio
import random

import pytest
from parkos.events.provisioning import ensure_topics

from services.analytics.records import split_source_event
from services.analytics.tables import FACT_OFFSETS
from services.analytics.topics import topic_specs
from tests.integration.analytics.analytics_park import (
    Publisher,
    Record,
    Scenario,
    WorkerProcess,
    make_tenants,
    mismatches,
    wait_for,
    worker_settings,
)
from tests.support.kafka import read_topic

pytestmark = [pytest.mark.infra, pytest.mark.timeout(240)]

KEPT_SECONDS = 3


def fact_ids(record: Record) -> set[str]:
    assert record.envelope is not None
    return {fact.fact_id for fact in split_source_event(record.envelope)}


async def forgotten_and_kept(infra, topic: str, expect: int) -> tuple[set[str], set[str]]:  # type: ignore[no-untyped-def]
    """(ids with a tombstone after their last value, ids whose last record is a value)."""
    last: dict[str, bytes | None] = {}
    for record in await read_topic(infra.kafka_bootstrap, topic, expect=expect, timeout=20):
        last[record.key.decode()] = record.value
    return ({key for key, value in last.items() if value is None},
            {key for key, value in last.items() if value is not None})


async def test_fact_ids_are_forgotten_after_the_horizon_and_not_before(infra, start_api, workers) -> None:  # type: ignore[no-untyped-def]
    settings = worker_settings(infra, fact_ids_kept_seconds=KEPT_SECONDS)
    await ensure_topics(infra.kafka_bootstrap, topic_specs(settings))
    changelog = settings.changelog_topic(FACT_OFFSETS)
    api = await start_api(settings)
    tenants = make_tenants(2, random.Random(7))
    seller, buyer = tenants
    scenario = Scenario(settings, tenants, random.Random(8))

    def exact() -> bool:
        return not mismatches(api.view, scenario.expected, tenants)

    worker = WorkerProcess(settings, infra.root, "worker-1").start()
    workers.append(worker)
    await worker.wait_assigned()
    loop = asyncio.get_running_loop()
    async with Publisher(infra.kafka_bootstrap) as publisher:
        first = scenario.trade(seller, buyer)
        # its re-send is checked by every exact() below: it comes before the next trade
        await publisher.publish([first, Record(first.topic, first.key, first.envelope)])
        await wait_for(exact, 60, worker.log_tail)

        await asyncio.sleep(KEPT_SECONDS + 1)
        second = scenario.trade(seller, buyer)
        await publisher.publish([second])
        second_at = loop.time()
        await wait_for(exact, 60, worker.log_tail)
        forgotten, kept = await forgotten_and_kept(infra, changelog, expect=6)
        assert forgotten == fact_ids(first)
        assert kept == fact_ids(second)

        # a restarted worker knows when the ids it recovered were first seen
        assert worker.stop() == 0
        worker = WorkerProcess(settings, infra.root, "worker-2").start()
        workers.append(worker)
        await worker.wait_assigned()
        await asyncio.sleep(max(0.0, second_at + KEPT_SECONDS + 1 - loop.time()))
        third = scenario.trade(seller, buyer)
        await publisher.publish([third, Record(third.topic, third.key, third.envelope)])
        await wait_for(exact, 60, worker.log_tail)
        forgotten, kept = await forgotten_and_kept(infra, changelog, expect=10)
        assert forgotten == fact_ids(first) | fact_ids(second)
        assert kept == fact_ids(third)

        await asyncio.sleep(KEPT_SECONDS + 1)
        fourth = scenario.trade(seller, buyer)
        await publisher.publish([fourth])
        await wait_for(exact, 60, worker.log_tail)
        forgotten, kept = await forgotten_and_kept(infra, changelog, expect=14)
        assert forgotten == fact_ids(first) | fact_ids(second) | fact_ids(third)
        assert kept == fact_ids(fourth)
    await asyncio.sleep(1)
    assert exact()
