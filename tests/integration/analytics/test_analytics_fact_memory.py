"""Fact ids are remembered for PARKOS_FACT_IDS_KEPT_SECONDS and then forgotten, also across a restart.

A real worker with a 15 s horizon. Inside the horizon a re-sent trade is recognised and
counted once, also after other facts of its partitions were processed (they are what
triggers forgetting) and after a restart (the recovered ids keep the time they were first
seen, from their changelog records). Once the horizon has passed, the next fact of the same
partitions deletes the old ids: a tombstone each on the fact-offsets changelog. Every re-send
is followed by a refund of the same order: same source partition, so once the refund is
counted the re-send has been processed.
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

pytestmark = [pytest.mark.infra, pytest.mark.timeout(300)]

KEPT_SECONDS = 15


def fact_ids(*records: Record) -> set[str]:
    ids: set[str] = set()
    for record in records:
        assert record.envelope is not None
        ids |= {fact.fact_id for fact in split_source_event(record.envelope)}
    return ids


def resent(record: Record) -> Record:
    """An outbox re-send: the same record published again."""
    return Record(record.topic, record.key, record.envelope)


async def forgotten_and_kept(infra, topic: str, expect: int) -> tuple[set[str], set[str]]:  # type: ignore[no-untyped-def]
    """(ids whose last changelog record is a tombstone, ids whose last record is a value)."""
    last: dict[str, bytes | None] = {}
    for record in await read_topic(infra.kafka_bootstrap, topic, expect=expect, timeout=20):
        last[record.key.decode()] = record.value
    return ({key for key, value in last.items() if value is None},
            {key for key, value in last.items() if value is not None})


async def test_fact_ids_are_remembered_inside_the_horizon_and_forgotten_after_it(infra, start_api, workers) -> None:  # type: ignore[no-untyped-def]
    settings = worker_settings(infra, fact_ids_kept_seconds=KEPT_SECONDS)
    await ensure_topics(infra.kafka_bootstrap, topic_specs(settings))
    changelog = settings.changelog_topic(FACT_OFFSETS)
    api = await start_api(settings)
    tenants = make_tenants(2, random.Random(7))
    seller, buyer = tenants
    scenario = Scenario(settings, tenants, random.Random(8))
    loop = asyncio.get_running_loop()

    def exact() -> bool:
        return not mismatches(api.view, scenario.expected, tenants)

    async def publish(*records: Record) -> float:
        await publisher.publish(records)
        await wait_for(exact, 60, worker.log_tail)
        return loop.time()

    async def sleep_until(moment: float) -> None:
        await asyncio.sleep(max(0.0, moment - loop.time()))

    worker = WorkerProcess(settings, infra.root, "worker-1").start()
    workers.append(worker)
    await worker.wait_assigned()
    async with Publisher(infra.kafka_bootstrap) as publisher:
        first = scenario.trade(seller, buyer)
        first_at = await publish(first)
        await sleep_until(first_at + KEPT_SECONDS / 2)
        middle = scenario.trade(seller, buyer)
        await publish(middle)  # processed, and nothing of the first trade forgotten yet
        first_refund = scenario.refund(of=first)
        await publish(resent(first), first_refund)  # the re-send is a duplicate: exact

        await sleep_until(first_at + KEPT_SECONDS + 1)
        second = scenario.trade(seller, buyer)
        second_at = await publish(second)
        forgotten, kept = await forgotten_and_kept(infra, changelog, expect=10)
        assert forgotten == fact_ids(first)
        assert kept == fact_ids(middle, first_refund, second)

        # a restarted worker recovers the ids with the time each was first seen
        assert worker.stop() == 0
        worker = WorkerProcess(settings, infra.root, "worker-2").start()
        workers.append(worker)
        await worker.wait_assigned()
        third = scenario.trade(seller, buyer)
        await publish(third)
        second_refund = scenario.refund(of=second)
        resent_at = await publish(resent(second), second_refund)
        assert resent_at - second_at < KEPT_SECONDS, "the restart took longer than the horizon: nothing was checked"

        # a horizon after the second trade: its ids go (they kept their first time across the
        # restart), those first seen after the restart stay
        await sleep_until(second_at + KEPT_SECONDS + 1)
        fourth = scenario.trade(seller, buyer)
        await publish(fourth)
        forgotten, kept = await forgotten_and_kept(infra, changelog, expect=22)
        assert forgotten == fact_ids(first, middle, first_refund, second)
        assert kept == fact_ids(third, second_refund, fourth)
    await asyncio.sleep(1)
    assert exact()
