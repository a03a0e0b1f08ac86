"""Exact totals under at-least-once: a real worker SIGKILLed in the middle of a stream, twice.

Thousands of events (settlements, refunds, outbox re-sends of earlier events, revenue
reports and corrections, garbage) are published while a real ``services.analytics.worker``
process consumes them; it is SIGKILLed mid-stream, restarted, SIGKILLed again while it
catches up, restarted again. Afterwards every tenant's figures, as the API serves them,
equal the sums over the distinct source events, and stay equal; the garbage is in the DLQ;
the last DataAssetValued of every tenant is its current valuation.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict

import pytest
from park.analytics.v1 import events_pb2 as analytics_events
from park.events.v1.dead_letter_pb2 import DeadLetter
from parkos.events import parse_envelope, unpack_payload
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
from tests.support.kafka import read_topic

pytestmark = [pytest.mark.infra, pytest.mark.timeout(420)]


async def test_sigkill_mid_stream_and_restart_leaves_every_total_exact(infra, start_api, workers) -> None:  # type: ignore[no-untyped-def]
    settings = worker_settings(infra)
    await ensure_topics(infra.kafka_bootstrap, topic_specs(settings))
    api = await start_api(settings)
    rng = random.Random(20251122)
    tenants = make_tenants(40, rng)
    scenario = Scenario(settings, tenants, rng)
    records = list(scenario.mixed(4000))
    garbage = sum(1 for record in records if record.envelope is None)
    expected = scenario.expected

    worker = WorkerProcess(settings, infra.root, "worker-1").start()
    workers.append(worker)
    await worker.wait_assigned()
    async with Publisher(infra.kafka_bootstrap) as publisher:
        publishing = asyncio.create_task(publisher.publish(records, rate=400))
        # kill #1: in the middle of the stream, while it is being published and applied
        await wait_for(lambda: api.view.applied >= 600, 60, worker.log_tail)
        assert not publishing.done()
        worker.kill()
        assert mismatches(api.view, expected, tenants), "the kill came after everything was applied"

        worker = WorkerProcess(settings, infra.root, "worker-2").start()
        workers.append(worker)
        await worker.wait_assigned()
        # kill #2: soon after the restart, while it replays and catches up
        applied_before = api.view.applied
        await wait_for(lambda: api.view.applied >= applied_before + 300, 60, worker.log_tail)
        worker.kill()

        assert await publishing == len(records)

    worker = WorkerProcess(settings, infra.root, "worker-3").start()
    workers.append(worker)
    await worker.wait_assigned()
    await wait_for(lambda: not mismatches(api.view, expected, tenants), 120,
                   lambda: f"{mismatches(api.view, expected, tenants)}\n{worker.log_tail()}")
    await asyncio.sleep(3)  # nothing is applied twice later on either
    assert mismatches(api.view, expected, tenants) == {}

    park_net = sum(expected.net.values())
    park = api.view.park_figures()
    assert park.bucket.data_sales_net == park_net
    assert park.bucket.data_sales_gross == park.bucket.data_sales_net + park.bucket.park_fees
    assert park.declared == sum(amount for _version, amount in expected.declared.values())

    letters = await read_topic(infra.kafka_bootstrap, settings.dlq_topic, expect=garbage, timeout=20)
    offsets = {(DeadLetter.FromString(r.value).source_partition, DeadLetter.FromString(r.value).source_offset)
               for r in letters}
    assert len(offsets) == garbage  # each garbage record dead-lettered (a replay may do it twice)

    await _assert_last_valuations_are_current(infra, settings, api)
    assert await asyncio.to_thread(worker.stop) == 0  # a graceful stop


async def _assert_last_valuations_are_current(infra, settings, api) -> None:  # type: ignore[no-untyped-def]
    valued = [ledger for ledger in api.view.ledgers() if ledger.valuation is not None]
    expect = len({v.event_id for ledger in valued for v in ledger.history})
    records = await read_topic(infra.kafka_bootstrap, settings.analytics_topic, expect=expect, timeout=30)
    last: dict[str, int] = {}
    bodies: dict[str, set[bytes]] = defaultdict(set)
    for record in records:
        envelope = parse_envelope(record.value)
        event = unpack_payload(envelope, analytics_events.DataAssetValued)
        last[event.tenant_id] = event.valuation.amount_minor
        bodies[envelope.event_id].add(event.SerializeToString())
    assert all(len(versions) == 1 for versions in bodies.values()), "a re-sent valuation differs from the first"
    assert last == {ledger.tenant_id: ledger.valuation.valuation for ledger in valued}
