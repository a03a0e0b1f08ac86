"""The outbox guarantee with real processes: a SIGKILL between commit and publish loses nothing."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest
from park.common.v1.money_pb2 import Money
from pymongo import MongoClient

from parkos.events import parse_envelope, unpack_payload
from parkos.events.provisioning import ensure_topics
from parkos.events.topics import TopicSpec
from tests.support.kafka import read_topic

WRITER = Path(__file__).with_name("outbox_writer.py")

pytestmark = pytest.mark.infra


def start_writer(infra, mode: str, db_name: str, topic: str, count: int = 0) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(WRITER), mode, infra.mongo_uri, db_name, infra.kafka_bootstrap, topic, str(count)],
        stdout=subprocess.PIPE, text=True, cwd=infra.root, env={**os.environ, "PYTHONPATH": str(infra.root)},
    )


@pytest.fixture
def writers(infra):
    """Starts writer processes like `start_writer`; one still running when its test ends (the
    test failed before killing or awaiting it) is killed, so it cannot write into later tests."""
    started: list[subprocess.Popen] = []

    def start(mode: str, db_name: str, topic: str, count: int = 0) -> subprocess.Popen:
        started.append(start_writer(infra, mode, db_name, topic, count))
        return started[-1]

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def wait_for_line(process: subprocess.Popen, predicate) -> None:
    for line in process.stdout:
        if predicate(line.strip()):
            return
    raise AssertionError(f"writer exited ({process.wait()}) before the expected output")


def wait_for_position(infra, db_name: str, timeout: float) -> bool:
    """True once the relay running in the writer has stored its stream position."""
    deadline = time.monotonic() + timeout
    with MongoClient(infra.mongo_uri) as client:
        while time.monotonic() < deadline:
            if client[db_name].outbox_position.find_one({"_id": "relay"}):
                return True
            time.sleep(0.1)
    return False


def committed_numbers(infra, db_name: str) -> set[int]:
    with MongoClient(infra.mongo_uri) as client:
        return {doc["_id"] for doc in client[db_name].ledger.find({}, {"_id": 1})}


def assert_each_committed_event_once_in_key_order(records, committed: set[int]) -> None:
    envelopes = [parse_envelope(record.value) for record in records]
    numbers = [unpack_payload(envelope, Money).amount_minor for envelope in envelopes]
    assert set(numbers) == committed, "every committed event reaches Kafka, and nothing else"
    # duplicates are allowed by the outbox (it re-sends after a crash) but carry the same event id
    by_number = defaultdict(set)
    for number, envelope in zip(numbers, envelopes):
        by_number[number].add(envelope.event_id)
    assert all(len(ids) == 1 for ids in by_number.values())
    per_key = defaultdict(list)
    for record, number in zip(records, numbers):
        if number not in per_key[record.key]:
            per_key[record.key].append(number)
    for key, sequence in per_key.items():
        assert sequence == sorted(sequence), f"events of {key!r} arrived out of order"


async def test_sigkill_after_commit_before_publish_loses_nothing(infra, writers):
    db_name, topic = infra.unique_name("outbox_kill"), infra.unique_name("test.outbox")
    await ensure_topics(infra.kafka_bootstrap, [TopicSpec(topic, 3)])
    writer = writers("commit-only", db_name, topic, count=60)
    wait_for_line(writer, lambda line: line == "done")
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert await read_topic(infra.kafka_bootstrap, topic, expect=1, timeout=2) == []

    relay = writers("relay", db_name, topic)
    assert relay.wait(timeout=60) == 0

    records = await read_topic(infra.kafka_bootstrap, topic, expect=60)
    assert len(records) == 60
    assert_each_committed_event_once_in_key_order(records, committed_numbers(infra, db_name))


async def test_sigkill_in_the_middle_of_a_burst_loses_nothing(infra, writers):
    db_name, topic = infra.unique_name("outbox_burst"), infra.unique_name("test.outbox")
    await ensure_topics(infra.kafka_bootstrap, [TopicSpec(topic, 3)])
    writer = writers("burst", db_name, topic, count=5000)
    wait_for_line(writer, lambda line: line == "committed 150")
    writer.send_signal(signal.SIGKILL)
    writer.wait()

    committed = committed_numbers(infra, db_name)
    assert len(committed) >= 150
    relay = writers("relay", db_name, topic)
    assert relay.wait(timeout=60) == 0

    records = await read_topic(infra.kafka_bootstrap, topic, expect=len(committed))
    assert_each_committed_event_once_in_key_order(records, committed)


async def test_sigkill_of_a_running_relay_resumes_from_its_stored_position(infra, writers):
    db_name, topic = infra.unique_name("outbox_resume"), infra.unique_name("test.outbox")
    await ensure_topics(infra.kafka_bootstrap, [TopicSpec(topic, 3)])
    writer = writers("burst", db_name, topic, count=5000)
    wait_for_line(writer, lambda line: line == "committed 300")
    # the scenario needs a stored position to resume from: the relay stores one at most once a
    # second after a batch is acknowledged, so on a slow machine it can come after the 300th commit
    threading.Thread(target=lambda: [None for _ in writer.stdout], daemon=True).start()
    assert wait_for_position(infra, db_name, timeout=30), "the running relay stored no position"
    writer.send_signal(signal.SIGKILL)
    writer.wait()

    committed = committed_numbers(infra, db_name)
    relay = writers("run", db_name, topic)
    assert relay.wait(timeout=60) == 0

    records = await read_topic(infra.kafka_bootstrap, topic, expect=len(committed))
    assert_each_committed_event_once_in_key_order(records, committed)
