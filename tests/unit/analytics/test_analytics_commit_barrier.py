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


def test_a_record_the_stream_skipped_is_not_acked_a_processed_one_is() -> None:
    settings = AnalyticsSettings(app_id="unit-acks")
    app = build_worker_app(settings).app
    consumer = app.consumer
    tp = TP(settings.facts_topic, 0)
    app.topics.acking_topics.add(settings.facts_topic)  # what starting the agent would register

    def message(offset: int, tracked: bool) -> ConsumerMessage:
        record = ConsumerMessage(settings.facts_topic, 0, offset, 0.0, 0, [], b"k", b"v", None, tp=tp)
        record.tracked = tracked
        record.refcount = 1
        return record

    skipped = message(0, tracked=False)  # what Stream._py_aiter acks after a rebalance
    assert not skipped.ack(consumer)
    assert consumer.skipped_acks == 1 and list(consumer._acked[tp]) == []
    processed = message(1, tracked=True)
    assert processed.ack(consumer)
    assert list(consumer._acked[tp]) == [1]


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
    # opt-in until the lost record seen once with 100 ms is explained (fetch_wait.py)
    assert AnalyticsSettings.model_fields["fetch_max_wait_ms"].default == FAUST_FETCH_MAX_WAIT_MS


def test_a_consumer_without_the_wait_attribute_is_refused_loudly() -> None:
    with pytest.raises(RuntimeError, match="revisit fetch_wait.py"):
        set_fetch_max_wait(object(), 100)
