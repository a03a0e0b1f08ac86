"""A topic follower says it caught up only once it has applied what the topic held at its start.

That moment is when a replica's revocation list may be trusted (parkos.auth.revocation_feed):
a token revoked before the replica started must already be refused by its first call.
"""
from __future__ import annotations

import pytest
from aiokafka import AIOKafkaProducer

from parkos.events.follower import TopicFollower, open_follower_consumer
from parkos.events.provisioning import ensure_topics
from parkos.events.topics import TopicSpec

pytestmark = pytest.mark.infra

RECORDS = 600
PADDING = b"." * 20_000  # 12 MB in all: more than one fetch brings (1 MB per partition)


async def _topic_with(infra, records: int) -> str:  # type: ignore[no-untyped-def]
    topic = infra.unique_name("test.follower")
    await ensure_topics(infra.kafka_bootstrap, [TopicSpec(topic, 3, {})])
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        sent = [await producer.send(topic, f"record-{n}".encode() + PADDING, key=str(n % 7).encode())
                for n in range(records)]
        for delivery in sent:
            await delivery
    finally:
        await producer.stop()
    return topic


def _follower(infra, topic: str, seen: list[bytes | None], applied_when_caught_up: list[int]) -> TopicFollower:  # type: ignore[no-untyped-def]
    follower: TopicFollower

    def caught_up() -> None:
        applied_when_caught_up.append(follower.applied)

    follower = TopicFollower(lambda: open_follower_consumer(infra.kafka_bootstrap, topic, client_id="follower-test"),
                             seen.append, name="follower-test", on_caught_up=caught_up)
    return follower


async def test_caught_up_comes_after_every_record_published_before_the_start(infra) -> None:  # type: ignore[no-untyped-def]
    topic = await _topic_with(infra, RECORDS)
    seen: list[bytes | None] = []
    at_catch_up: list[int] = []
    follower = _follower(infra, topic, seen, at_catch_up)
    assert not await follower.ready()
    await follower.start()
    try:
        assert await follower.wait_caught_up(30)
        assert at_catch_up[0] >= RECORDS and len(seen) >= RECORDS
        assert {f"record-{n}".encode() + PADDING for n in range(RECORDS)} <= set(seen)
        assert await follower.ready()
    finally:
        await follower.stop()


async def test_an_empty_topic_is_caught_up_at_once(infra) -> None:  # type: ignore[no-untyped-def]
    topic = await _topic_with(infra, 0)
    at_catch_up: list[int] = []
    follower = _follower(infra, topic, [], at_catch_up)
    await follower.start()
    try:
        assert await follower.wait_caught_up(15)
        assert at_catch_up == [0]
    finally:
        await follower.stop()


async def test_a_record_the_projection_cannot_apply_is_skipped_and_following_goes_on(infra) -> None:  # type: ignore[no-untyped-def]
    topic = infra.unique_name("test.follower")
    await ensure_topics(infra.kafka_bootstrap, [TopicSpec(topic, 1, {})])
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for value in (b"first", b"poison", b"after"):
            await producer.send_and_wait(topic, value)
    finally:
        await producer.stop()
    seen: list[bytes | None] = []

    def apply(raw: bytes | None) -> None:
        if raw == b"poison":
            raise ValueError("Timestamp is not valid")  # e.g. a time out of range in an event
        seen.append(raw)

    follower = TopicFollower(lambda: open_follower_consumer(infra.kafka_bootstrap, topic, client_id="follower-test"),
                             apply, name="follower-test")
    await follower.start()
    try:
        assert await follower.wait_caught_up(15)
        assert seen == [b"first", b"after"]
    finally:
        await follower.stop()
