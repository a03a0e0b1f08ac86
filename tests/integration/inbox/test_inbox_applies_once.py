"""The inbox guarantee against the real broker and store: each event applied once, poison to the DLQ."""
from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaProducer
from park.common.v1.money_pb2 import Money
from park.common.v1.pagination_pb2 import PageRequest
from park.events.v1.dead_letter_pb2 import DeadLetter

from parkos.events import build_envelope
from parkos.events.provisioning import ensure_topics
from parkos.events.topics import DLQ, TopicSpec
from parkos.inbox import DeadLetterPublisher, EventHandlers, InboxConsumer, PermanentEventError
from parkos.inbox.kafka_consumer import open_manual_commit_consumer
from parkos.mongo import connect_mongo
from parkos.outbox import open_idempotent_producer
from tests.support.kafka import read_topic

pytestmark = pytest.mark.infra


async def credit_account(payload: Money, envelope, session, *, db) -> None:
    """The state change under test: add the payload to the account's balance."""
    if payload.amount_minor < 0:
        raise PermanentEventError("a credit cannot be negative")
    await db.accounts.update_one(
        {"_id": envelope.aggregate_id}, {"$inc": {"balance": payload.amount_minor, "credits": 1}},
        upsert=True, session=session,
    )


class Harness:
    """A real InboxConsumer on a fresh topic and database, plus a raw producer to feed it."""

    def __init__(self, infra) -> None:
        self.infra = infra
        self.topic = infra.unique_name("test.inbox")
        self.group = infra.unique_name("inbox-test")
        self.client = connect_mongo(infra.mongo_uri, "inbox-test")
        self.db = self.client[infra.unique_name("inbox")]

    async def __aenter__(self) -> "Harness":
        await ensure_topics(self.infra.kafka_bootstrap, [TopicSpec(self.topic, 2), DLQ])
        self.producer = AIOKafkaProducer(bootstrap_servers=self.infra.kafka_bootstrap, acks="all")
        await self.producer.start()
        self.dlq_producer = open_idempotent_producer(self.infra.kafka_bootstrap, "inbox-test-dlq")
        await self.dlq_producer.start()
        handlers = EventHandlers().register(
            Money, lambda payload, envelope, session: credit_account(payload, envelope, session, db=self.db)
        )
        self.consumer = InboxConsumer(
            client=self.client, db=self.db, handlers=handlers, group_id=self.group,
            consumer_factory=lambda: open_manual_commit_consumer(
                self.infra.kafka_bootstrap, self.group, [self.topic], client_id="inbox-test"),
            dead_letters=DeadLetterPublisher(self.dlq_producer),
        )
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.consumer.stop()
        await self.producer.stop()
        await self.dlq_producer.stop()
        await self.client.close()

    async def send(self, key: str, value: bytes) -> None:
        await self.producer.send_and_wait(self.topic, value, key=key.encode())

    async def balance(self, account: str) -> dict | None:
        return await self.db.accounts.find_one({"_id": account})

    async def wait_until(self, predicate, timeout: float = 20.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not await predicate():
            assert loop.time() < deadline, "condition not reached in time"
            await asyncio.sleep(0.1)


async def dead_letters_from(infra, topic: str, expect: int) -> list[DeadLetter]:
    letters = []
    for record in await read_topic(infra.kafka_bootstrap, DLQ.name, expect=10_000, timeout=3):
        letter = DeadLetter.FromString(record.value)
        if letter.source_topic == topic:
            letters.append(letter)
    assert len(letters) == expect, f"expected {expect} dead letters from {topic}, found {len(letters)}"
    return letters


async def test_the_same_event_delivered_three_times_changes_state_once(infra):
    async with Harness(infra) as harness:
        envelope = build_envelope(Money(amount_minor=250, currency="CNY"), producer="test", aggregate_id="acct-1")
        for _ in range(3):
            await harness.send("acct-1", envelope.SerializeToString())
        marker = build_envelope(Money(amount_minor=1, currency="CNY"), producer="test", aggregate_id="acct-1")
        await harness.send("acct-1", marker.SerializeToString())

        async def marker_applied():
            account = await harness.balance("acct-1")
            return account is not None and account["balance"] >= 251

        await harness.wait_until(marker_applied)
        account = await harness.balance("acct-1")
        assert (account["balance"], account["credits"]) == (251, 2)
        assert await harness.db.inbox.count_documents({}) == 2


async def test_a_poison_record_goes_to_the_dlq_and_the_next_good_record_is_applied(infra):
    async with Harness(infra) as harness:
        await harness.send("acct-2", b"\x00not a protobuf envelope\xff")
        wrong_type = build_envelope(PageRequest(page_size=3), producer="test", aggregate_id="acct-2")
        await harness.send("acct-2", wrong_type.SerializeToString())  # no handler wants it: skipped
        refused = build_envelope(Money(amount_minor=-5, currency="CNY"), producer="test", aggregate_id="acct-2")
        await harness.send("acct-2", refused.SerializeToString())  # the handler refuses it: DLQ
        good = build_envelope(Money(amount_minor=700, currency="CNY"), producer="test", aggregate_id="acct-2")
        await harness.send("acct-2", good.SerializeToString())

        async def good_applied():
            return await harness.balance("acct-2") is not None

        await harness.wait_until(good_applied)
        assert (await harness.balance("acct-2"))["balance"] == 700
        letters = await dead_letters_from(infra, harness.topic, expect=2)
        by_type = {letter.error_type: letter for letter in letters}
        assert by_type["MalformedEvent"].value == b"\x00not a protobuf envelope\xff"
        assert by_type["PermanentEventError"].event_id == refused.event_id
        assert by_type["PermanentEventError"].consumer_group == harness.group
        assert "negative" in by_type["PermanentEventError"].error_message
