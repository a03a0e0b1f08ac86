"""The relay rides out a broker restart: events committed while Kafka is down arrive after it returns."""
from __future__ import annotations

import subprocess

import pytest
from park.common.v1.money_pb2 import Money

from parkos.events import build_envelope, parse_envelope
from parkos.events.provisioning import ensure_topics
from parkos.events.topics import TopicSpec
from parkos.mongo import connect_mongo, run_in_transaction
from parkos.outbox import OutboxRelay, append_to_outbox, ensure_outbox_indexes, open_idempotent_producer
from tests.support.kafka import read_topic

pytestmark = pytest.mark.infra


def kafka(infra, action: str) -> None:
    subprocess.run(["bash", str(infra.root / "infra" / "kafka.sh"), action], check=True, cwd=infra.root)


async def commit(client, db, topic: str, amount: int) -> str:
    async def change(session) -> str:
        envelope = build_envelope(Money(amount_minor=amount, currency="CNY"), producer="test", aggregate_id="acct")
        await append_to_outbox(db, session, topic, [envelope])
        return envelope.event_id

    return await run_in_transaction(client, change)


async def test_events_committed_while_the_broker_is_down_arrive_after_restart(infra):
    topic = infra.unique_name("test.outbox")
    await ensure_topics(infra.kafka_bootstrap, [TopicSpec(topic, 1)])
    client = connect_mongo(infra.mongo_uri, "relay-restart-test")
    db = client[infra.unique_name("outbox_restart")]
    await ensure_outbox_indexes(db)
    relay = OutboxRelay(db, lambda: open_idempotent_producer(infra.kafka_bootstrap, "relay-test"),
                        service="test", retry_seconds=0.5)
    await relay.start()
    try:
        event_ids = [await commit(client, db, topic, amount) for amount in range(5)]
        relay.notify()
        kafka(infra, "kill")  # SIGKILL: no clean shutdown of the broker
        event_ids += [await commit(client, db, topic, amount) for amount in range(5, 25)]
        relay.notify()
        kafka(infra, "up")
        records = await read_topic(infra.kafka_bootstrap, topic, expect=25, timeout=60)
    finally:
        await relay.stop()
        await client.close()
    assert {parse_envelope(record.value).event_id for record in records} == set(event_ids)
