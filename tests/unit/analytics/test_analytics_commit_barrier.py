"""The commit barrier: Faust commits neither skipped records nor before writes are acknowledged."""

from __future__ import annotations

import asyncio

import pytest
from faust.types import TP
from faust.types.tuples import ConsumerMessage

from services.analytics.app import build_worker_app
from services.analytics.commit_barrier import (
    DurableProducer,
    ProcessedOnlyConsumer,
    RewindingConsumerThread,
    UndeliveredWrite,
    WriteTracker,
)
from services.analytics.partition_order import Admission, PartitionOrder
from services.analytics.fetch_wait import FAUST_FETCH_MAX_WAIT_MS, set_fetch_max_wait
from services.analytics.settings import AnalyticsSettings


async def test_the_barrier_waits_for_every_write_and_a_failure_blocks_every_later_commit() -> None:
    tracker = WriteTracker(timeout=1.0)
    loop = asyncio.get_running_loop()
    first, second = loop.create_future(), loop.create_future()
    tracker.track(first)
    tracker.track(second)
    waiting = asyncio.ensure_future(tracker.wait_all())
    await asyncio.sleep(0.01)
    assert not waiting.done()  # nothing acknowledged yet: no commit
    first.set_result("ok")
    second.set_result("ok")
    await asyncio.wait_for(waiting, 1)
    failed = loop.create_future()
    tracker.track(failed)
    failed.set_exception(ConnectionError("broker gone"))
    await asyncio.sleep(0)
    with pytest.raises(UndeliveredWrite):
        await tracker.wait_all()
    with pytest.raises(UndeliveredWrite):  # sticky: the failed write's event may be acked already
        await tracker.wait_all()


async def test_the_barrier_gives_up_after_its_timeout() -> None:
    tracker = WriteTracker(timeout=0.05)
    tracker.track(asyncio.get_running_loop().create_future())
    with pytest.raises(UndeliveredWrite, match="unacknowledged"):
        await tracker.wait_all()


def test_the_worker_app_uses_the_safe_consumer_and_producer() -> None:
    app = build_worker_app(AnalyticsSettings(app_id="unit-barrier")).app
    assert isinstance(app.consumer, ProcessedOnlyConsumer)
    assert isinstance(app.consumer._thread, RewindingConsumerThread)
    assert isinstance(app.producer, DurableProducer)
    assert app.producer._settings_extra()["enable_idempotence"] is True


async def test_commits_never_pass_a_record_the_agents_did_not_process_in_order() -> None:
    settings = AnalyticsSettings(app_id="unit-acks")
    app = build_worker_app(settings).app
    consumer = app.consumer
    tp = TP(settings.facts_topic, 0)
    consumer.order = PartitionOrder(refetch_interval=1.0, clock=lambda: 0.0)
    consumer.order.start(generation=1, starts={tp: 0})  # what perform_seek does
    sought: list[dict[TP, int]] = []

    async def in_consumer_thread(fun, positions):  # type: ignore[no-untyped-def]
        assert fun == consumer._seek_assigned
        sought.append(positions)

    consumer._thread.call_thread = in_consumer_thread  # type: ignore[method-assign]
    log_start = {tp: 0}

    async def earliest_offsets(*partitions: TP) -> dict[TP, int]:
        return {partition: log_start[partition] for partition in partitions}

    consumer.earliest_offsets = earliest_offsets  # type: ignore[method-assign]

    def message(offset: int) -> ConsumerMessage:
        return ConsumerMessage(settings.facts_topic, 0, offset, 0.0, 0, [], b"k", b"v", None, tp=tp, generation_id=1)

    def faust_acks(*offsets: int) -> None:
        # Faust's stream acks every record it handed out (its Cython iterator bypasses Consumer.ack)
        consumer._acked[tp].extend(offsets)
        consumer._acked_index[tp].update(offsets)

    first = message(0)
    assert consumer.admit(first) is Admission.NEXT
    faust_acks(0)
    assert consumer._new_offset(tp) == 0  # admitted, not finished: nothing to commit yet
    consumer.complete(first)
    assert consumer._new_offset(tp) == 1
    assert consumer.admit(message(0)) is Admission.AGAIN  # read again: the agent skips it

    faust_acks(5)  # Faust acks offset 5 though offsets 1-4 never reached the agent
    assert consumer.admit(message(5)) is Admission.GAP
    assert consumer.admit(message(6)) is Admission.GAP
    await asyncio.sleep(0)
    assert sought == [{tp: 1}]  # fetched again from the first record missing, once
    assert consumer._new_offset(tp) == 1  # Faust alone would commit 6

    log_start[tp] = 5  # retention deleted offsets 1-4 before the agent got them
    consumer.order._refetched_at.clear()
    assert consumer.admit(message(5)) is Admission.GAP
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert sought[-1] == {tp: 5}  # nothing left to fetch before 5: go on from there
    assert consumer.admit(message(5)) is Admission.NEXT


def test_faust_keeps_no_read_offsets_so_it_drops_no_record_fetched_again() -> None:
    consumer = build_worker_app(AnalyticsSettings(app_id="unit-read-offsets")).app.consumer
    tp = TP("t", 0)
    consumer._read_offset[tp] = 40  # what Faust's fetch loop does after handing over offset 40
    consumer._read_offset.update({tp: 41})  # and perform_seek
    assert consumer._read_offset[tp] is None  # so a re-fetched offset 12 is not "already read"
    assert consumer._read_offset.pop(tp, None) is None and not list(consumer._read_offset)


def test_stream_partitions_resumed_while_the_flow_runs_wait_for_resume_flow() -> None:
    # Recovery resumes the stream partitions, seeks them, empties the agents' buffers, then
    # resumes the flow: anything fetched for the agents before that last step would be emptied away.
    settings = AnalyticsSettings(app_id="unit-hold")
    app = build_worker_app(settings).app
    consumer = app.consumer
    stream, other_stream = TP(settings.facts_topic, 0), TP(settings.trades_topic, 0)
    changelog = TP(settings.changelog_topic("tenant-ledgers"), 0)
    consumer.assignment = lambda: {stream, other_stream, changelog}  # type: ignore[method-assign]
    consumer._set_active_tps(set())
    consumer.resume_flow()  # as Recovery does to read the changelogs

    consumer.resume_partitions({stream, other_stream, changelog})
    assert consumer._get_active_partitions() == {changelog}
    consumer.pause_partitions({other_stream})  # a rebalance in between drops what it revoked
    consumer.resume_flow()
    assert consumer._get_active_partitions() == {changelog, stream}

    consumer.stop_flow()  # with the flow stopped nothing is fetched anyway: resumed at once
    consumer.resume_partitions({other_stream})
    assert other_stream in consumer._get_active_partitions()


async def test_the_worker_consumer_fetches_wait_at_most_the_configured_time() -> None:
    # Faust builds its consumer with fetch_max_wait_ms=1500, which stalls a busy worker (fetch_wait.py)
    for configured in (100, 250, 1500):
        app = build_worker_app(AnalyticsSettings(app_id="unit-fetch-wait", fetch_max_wait_ms=configured)).app
        consumer = app.consumer._thread._create_worker_consumer(app.transport)
        try:
            assert consumer._fetch_max_wait_ms == configured
        finally:
            await consumer.stop()
    assert AnalyticsSettings.model_fields["fetch_max_wait_ms"].default == 100 < FAUST_FETCH_MAX_WAIT_MS


def test_a_consumer_without_the_wait_attribute_is_refused_loudly() -> None:
    with pytest.raises(RuntimeError, match="revisit fetch_wait.py"):
        set_fetch_max_wait(object(), 100)
