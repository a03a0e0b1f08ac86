"""The relay's stored position (a restart resumes after it, and without one nothing is lost) and its lease."""
from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from datetime import timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import REGISTRY
from park.common.v1.money_pb2 import Money

from parkos.events import build_envelope, parse_envelope
from parkos.events.provisioning import ensure_topics
from parkos.events.topics import TopicSpec
from parkos.mongo import connect_mongo, run_in_transaction
from parkos.outbox import OutboxRelay, append_to_outbox, ensure_outbox_indexes, open_idempotent_producer
from parkos.outbox.lease import LEASES_COLLECTION, RelayLease
from parkos.outbox.position import POSITIONS_COLLECTION, RelayPosition
from tests.support.kafka import read_topic

pytestmark = pytest.mark.infra


@pytest.fixture
async def outbox(infra):
    """A fresh database with its outbox, a 3-partition topic, and a way to make relays."""
    topic = infra.unique_name("test.outbox")
    await ensure_topics(infra.kafka_bootstrap, [TopicSpec(topic, 3)])
    client = connect_mongo(infra.mongo_uri, "relay-position-test")
    db = client[infra.unique_name("outbox_position")]
    await ensure_outbox_indexes(db)

    made: list[OutboxRelay] = []

    def relay(**options) -> OutboxRelay:
        made.append(OutboxRelay(db, lambda: open_idempotent_producer(infra.kafka_bootstrap, "relay-position-test"),
                                service="test", **options))
        return made[-1]

    yield client, db, topic, relay
    for left in made:  # a test that failed before stopping its relay must not leave it publishing
        with contextlib.suppress(Exception):
            await left.stop()
    await client.close()


def envelope(amount: int, key: str = "acct"):
    return build_envelope(Money(amount_minor=amount, currency="CNY"), producer="test", aggregate_id=key)


async def commit(client, db, topic: str, *envelopes) -> list[str]:
    async def change(session) -> None:
        await append_to_outbox(db, session, topic, list(envelopes))

    await run_in_transaction(client, change)
    return [item.event_id for item in envelopes]


async def wait_until(predicate, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def all_marked(db) -> bool:
    return await db.outbox.count_documents({"sent": False}) == 0


def event_ids(records) -> list[str]:
    return [parse_envelope(record.value).event_id for record in records]


class SlowToStopProducer(AIOKafkaProducer):
    """A real producer whose stop waits for `stopping`, as in a broker outage (it waits for its held batches)."""

    def __init__(self, bootstrap: str, stopping: asyncio.Event) -> None:
        super().__init__(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
        self._stopping = stopping
        self.stop_begun = asyncio.Event()

    async def stop(self) -> None:
        self.stop_begun.set()
        await self._stopping.wait()
        await super().stop()


async def test_a_restarted_relay_resumes_after_its_stored_position_without_re_sending(outbox, infra):
    client, db, topic, make_relay = outbox
    first = make_relay()
    await first.start()
    await wait_until(lambda: _has_position(db))  # a fresh relay starts from the stream's current end
    sent_first = [event_id for amount in range(10) for event_id in await commit(client, db, topic, envelope(amount))]
    first.notify()
    await wait_until(lambda: all_marked(db))
    await first.stop()
    assert await RelayPosition(db).load() is not None
    assert await db.outbox.count_documents({"sent": True, "sent_at": {"$exists": True}}) == 10  # expiry started

    sent_while_down = [event_id for amount in range(10, 25)
                       for event_id in await commit(client, db, topic, envelope(amount))]
    second = make_relay()
    await second.start()
    try:
        await wait_until(lambda: all_marked(db))
    finally:
        await second.stop()
    assert second.published == 15, "the restart re-sent rows before its stored position"
    records = await read_topic(infra.kafka_bootstrap, topic, expect=25)
    assert event_ids(records) == sent_first + sent_while_down


async def test_without_a_usable_position_the_relay_scans_unsent_rows_then_follows_the_stream(outbox, infra):
    client, db, topic, make_relay = outbox
    before = [event_id for amount in range(12) for event_id in await commit(client, db, topic, envelope(amount))]
    # a position the store cannot resume from (as after the oplog moved past it)
    await db[POSITIONS_COLLECTION].insert_one({"_id": "relay", "token": {"_data": "not-a-token"}})
    relay = make_relay()
    await relay.start()
    try:
        await wait_until(lambda: all_marked(db))
        after = await commit(client, db, topic, envelope(12))
        relay.notify()
        await wait_until(lambda: _published(relay, 13))
        await wait_until(lambda: all_marked(db))
    finally:
        await relay.stop()
    stored = await RelayPosition(db).load()
    assert stored is not None and stored != {"_data": "not-a-token"}, "no fresh position stored"
    records = await read_topic(infra.kafka_bootstrap, topic, expect=13)
    assert event_ids(records) == before + after


async def test_a_row_committed_after_a_newer_id_was_published_is_not_skipped(outbox, infra):
    client, db, topic, make_relay = outbox
    older = envelope(1)  # its UUIDv7 id is built first ...
    newer = envelope(2, key="other")
    relay = make_relay()
    await relay.start()
    try:
        await commit(client, db, topic, newer)  # ... but it commits after `newer` was published
        relay.notify()
        await wait_until(lambda: _published(relay, 1))
        await commit(client, db, topic, older)
        relay.notify()
        await wait_until(lambda: _published(relay, 2))
    finally:
        await relay.stop()
    records = await read_topic(infra.kafka_bootstrap, topic, expect=2)
    assert sorted(event_ids(records)) == sorted([older.event_id, newer.event_id])


async def test_a_row_committed_behind_the_scan_is_published_before_the_newer_rows_of_its_key(outbox, infra):
    client, db, topic, make_relay = outbox
    late = envelope(0)  # its id is built first, so the scan passes it on its first page ...
    backlog = [event_id for amount in range(1, 1201) for event_id in await commit(client, db, topic, envelope(amount, "bulk"))]
    async with client.start_session() as session:
        await session.start_transaction()  # ... while it is not committed yet
        await append_to_outbox(db, session, topic, [late])
        relay = make_relay(batch_size=20)
        await relay.start()
        try:
            await wait_until(lambda: _published(relay, 1))  # the scan is past `late`'s id
            await session.commit_transaction()
            newer = await commit(client, db, topic, envelope(1, "acct"))  # a later row of `late`'s key
            # the scan has read at most what was acknowledged, the 4 batches in flight, the queue
            # (2 batches) and one page: 7 batches of 20 beyond it
            read_at_most = relay.published + 7 * 20
            relay.notify()
            await wait_until(lambda: all_marked(db), timeout=60)
        finally:
            await relay.stop()
    assert read_at_most < len(backlog), "the scan may have ended before the newer row committed: the test proves nothing"
    records = await read_topic(infra.kafka_bootstrap, topic, expect=len(backlog) + 2)
    of_the_key = [event_id for event_id, record in zip(event_ids(records), records, strict=True) if record.key == b"acct"]
    assert of_the_key == [late.event_id, *newer]


async def test_only_the_relay_holding_the_lease_publishes(outbox, infra):
    client, db, topic, make_relay = outbox
    relays = [make_relay(), make_relay()]
    for relay in relays:
        await relay.start()
    try:
        for amount in range(20):
            await commit(client, db, topic, envelope(amount))
            for relay in relays:
                relay.notify()
        await wait_until(lambda: all_marked(db))
    finally:
        for relay in relays:
            await relay.stop()
    assert min(relay.published for relay in relays) == 0, "both relays published"
    assert len(set(event_ids(await read_topic(infra.kafka_bootstrap, topic, expect=20)))) == 20


async def test_the_lease_stays_held_until_the_relays_producer_has_stopped(outbox, infra):
    client, db, topic, _ = outbox
    stopping = asyncio.Event()
    relay = OutboxRelay(db, lambda: SlowToStopProducer(infra.kafka_bootstrap, stopping), service="test",
                        lease_seconds=3.0)
    stopped = None
    try:
        await _start_and_publish_one(relay, client, db, topic)
        stopped = asyncio.create_task(relay.stop())
        rival = RelayLease(db, owner="rival", ttl=timedelta(seconds=3.0))
        for _ in range(9):  # three lease lifetimes while the producer is still stopping
            await asyncio.sleep(1.0)
            assert not await rival.acquire(), "a successor took the lease while the old producer could still deliver"
    finally:
        stopping.set()
        await (stopped or relay.stop())
    assert await rival.acquire(), "the lease was not released once the producer had stopped"


async def test_stopping_a_relay_waits_for_the_producer_close_it_had_begun(outbox, infra):
    client, db, topic, _ = outbox
    stopping = asyncio.Event()
    producers: list[AIOKafkaProducer] = []

    def new_producer() -> AIOKafkaProducer:
        producers.append(SlowToStopProducer(infra.kafka_bootstrap, stopping))
        return producers[-1]

    relay = OutboxRelay(db, new_producer, service="test", lease_seconds=3.0)
    stopped = None
    try:
        await _start_and_publish_one(relay, client, db, topic)
        # another relay takes the lease over: this one ends its session and begins closing its producer
        lost_before = _sessions_ended("lease_lost")
        await db[LEASES_COLLECTION].update_one({"_id": "relay"}, {"$set": {"owner": "rival"}})
        await wait_until(lambda: _not_sending(relay))
        await asyncio.wait_for(producers[0].stop_begun.wait(), 10)  # the loop is closing it now
        assert _sessions_ended("lease_lost") == lost_before + 1
        stopped = asyncio.create_task(relay.stop())  # cancels the loop in the middle of that close
        await asyncio.sleep(1.0)
        assert not stopped.done(), "stop() returned while the old producer could still deliver"
    finally:
        stopping.set()
        await (stopped or relay.stop())
    assert len(producers) == 1 and producers[0]._closed and producers[0]._sender.sender_task.done()


async def test_keeping_a_lease_renews_it_only_while_it_is_ours(outbox):
    _, db, _, _ = outbox
    ours, rival = (RelayLease(db, owner=name, ttl=timedelta(seconds=3)) for name in ("ours", "rival"))
    async with ours.kept():
        await asyncio.sleep(0.5)
    assert await rival.acquire(), "keeping took a lease that was free"
    assert await ours.acquire() is False
    await rival.release()
    assert await ours.acquire()
    async with ours.kept():
        await asyncio.sleep(7.0)  # more than two lifetimes
        assert await rival.acquire() is False, "the kept lease expired"


async def test_a_relay_cut_off_from_the_store_stops_publishing_before_its_lease_can_pass_on(outbox, infra):
    client, db, topic, make_relay = outbox
    store = _store_process(infra)
    relay = make_relay(lease_seconds=3.0)
    await relay.start()
    try:
        await commit(client, db, topic, envelope(1))
        relay.notify()
        await wait_until(lambda: _published(relay, 1))
        await wait_until(lambda: _sending(relay))
        fenced_before = _sessions_ended("renewal_late")
        os.kill(store, signal.SIGSTOP)  # the store stops answering; Kafka still would
        try:
            await wait_until(lambda: _not_sending(relay), timeout=6)
            last_renewal = relay.lease.renewed_at  # none can succeed while the store is stopped
        finally:
            os.kill(store, signal.SIGCONT)
        assert relay.session is not None and relay.session.stopped_sending_at is not None and last_renewal is not None
        assert relay.session.stopped_sending_at < last_renewal + 3.0, "it sent after a successor could take over"
        assert _sessions_ended("renewal_late") > fenced_before, "the metric did not count the fence"
        later = await commit(client, db, topic, envelope(2))
        relay.notify()
        await wait_until(lambda: all_marked(db))  # the store is back: the relay takes its lease up again
    finally:
        await relay.stop()
    assert event_ids(await read_topic(infra.kafka_bootstrap, topic, expect=2))[-1] == later[0]


async def _start_and_publish_one(relay: OutboxRelay, client, db, topic: str) -> None:
    await relay.start()
    await commit(client, db, topic, envelope(1))
    relay.notify()
    await wait_until(lambda: _published(relay, 1))


async def _published(relay: OutboxRelay, count: int) -> bool:
    return relay.published >= count


def _sessions_ended(reason: str) -> float:
    return REGISTRY.get_sample_value("parkos_outbox_relay_sessions_ended_total", {"service": "test", "reason": reason}) or 0.0


def _store_process(infra) -> int:
    """The pid of the test session's SecantusDB server (checked: never signal a stale pid)."""
    pid_file = Path(os.environ.get("PARKOS_INFRA_DIR", infra.root / ".infra")) / "secantus" / "secantus.pid"
    pid = int(pid_file.read_text())
    assert b"secantusd" in Path(f"/proc/{pid}/cmdline").read_bytes(), f"pid {pid} is not the store"
    return pid


async def _sending(relay: OutboxRelay) -> bool:
    return relay.session is not None and relay.session.sending


async def _not_sending(relay: OutboxRelay) -> bool:
    return relay.session is not None and not relay.session.sending


async def _has_position(db) -> bool:
    return await RelayPosition(db).load() is not None
