"""`python -m bench.outbox.profile`: where a relay batch spends its time, step by step.

Fills a fresh outbox with unsent rows, then times separately, on the same store and broker:
reading a batch (several query shapes), publishing it (send + ack), marking it sent (several
write shapes), and reading the same rows back from a change stream (commit order). The
figures choose the relay's design; they are not a target.

usage: .venv/bin/python -m bench.outbox.profile [--rows 12000] [--batch 2000]
"""
from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from pymongo import UpdateOne

from bench.common import BenchInfra, delete_topics, drop_databases, wait_for_leaders
from bench.outbox.events import Events
from parkos.events import TopicSpec
from parkos.events.provisioning import ensure_topics
from parkos.mongo import connect_mongo
from parkos.outbox import OUTBOX_COLLECTION, ensure_outbox_indexes, open_idempotent_producer
from parkos.outbox.writer import outbox_document


def report(label: str, rows: int, seconds: float) -> None:
    """One line: what, how many rows, how long, rows per second."""
    per_second = rows / seconds if seconds else 0.0
    print(f"  {label:<58} {rows:>7,} rows {seconds * 1000:>9.1f} ms {per_second:>10,.0f} rows/s", flush=True)


async def timed(label: str, rows: int, action: Callable[[], Awaitable[object]]) -> object:
    """Run `action` once and report it."""
    started = time.perf_counter()
    result = await action()
    report(label, rows, time.perf_counter() - started)
    return result


async def fill(outbox, topic: str, count: int) -> None:
    """Bulk-insert `count` rows identical to append_to_outbox's."""
    events = Events(1000)
    for start in range(0, count, 1000):
        chunk = [outbox_document(topic, Events.envelope(*events.next())) for _ in range(min(1000, count - start))]
        await outbox.insert_many(chunk, ordered=False)


async def profile_reads(outbox, batch: int) -> list[dict]:
    """The query shapes a relay could read a batch with."""
    print("read a batch", flush=True)
    rows = await timed("find sent=False sort _id limit", batch,
                       lambda: outbox.find({"sent": False}).sort("_id", 1).limit(batch).to_list())
    await timed("  same, batch_size=batch", batch,
                lambda: outbox.find({"sent": False}).sort("_id", 1).limit(batch).batch_size(batch).to_list())
    last = rows[batch // 2]["_id"]
    await timed("find _id > x, sent=False, sort _id limit", batch,
                lambda: outbox.find({"sent": False, "_id": {"$gt": last}}).sort("_id", 1).limit(batch).to_list())
    await timed("find sent=False limit (no sort)", batch,
                lambda: outbox.find({"sent": False}).limit(batch).batch_size(batch).to_list())
    projection = {"topic": 1, "key": 1, "value": 1, "headers": 1}
    await timed("find sort _id limit, projection of what is sent", batch,
                lambda: outbox.find({"sent": False}, projection).sort("_id", 1).limit(batch).to_list())
    return rows


async def profile_publish(producer, rows: list[dict]) -> None:
    """Send the batch without waiting record by record, then wait for every ack."""
    print("publish a batch", flush=True)

    async def publish() -> None:
        deliveries = [
            await producer.send(row["topic"], row["value"], key=row["key"].encode(),
                                headers=[(name, bytes(value)) for name, value in row["headers"]])
            for row in rows
        ]
        await asyncio.gather(*deliveries)

    for attempt in range(2):
        await timed(f"send + ack (attempt {attempt + 1})", len(rows), publish)


async def profile_marking(db, outbox, batch: int) -> None:
    """The write shapes that could record a batch as published, each on its own fresh rows."""
    print("mark a batch (each shape on different rows)", flush=True)
    sent = {"$set": {"sent": True, "sent_at": datetime.now(UTC)}}

    async def next_ids() -> list:
        return [row["_id"] for row in
                await outbox.find({"sent": False}, {"_id": 1}).sort("_id", 1).limit(batch).to_list()]

    async def chunked(ids: list, size: int) -> None:
        for start in range(0, len(ids), size):
            await outbox.update_many({"_id": {"$in": ids[start:start + size]}}, sent)

    for size in (200, 50, 1000):
        ids = await next_ids()
        await timed(f"update_many $in, chunks of {size}", len(ids), lambda ids=ids, size=size: chunked(ids, size))
    ids = await next_ids()
    await timed("bulk_write UpdateOne per row, unordered", len(ids),
                lambda: outbox.bulk_write([UpdateOne({"_id": i}, sent) for i in ids], ordered=False))
    ids = await next_ids()

    async def delete_chunks() -> None:
        for start in range(0, len(ids), 200):
            await outbox.delete_many({"_id": {"$in": ids[start:start + 200]}})

    await timed("delete_many $in, chunks of 200", len(ids), delete_chunks)

    async def progress_writes() -> None:
        for number in range(20):
            await db.outbox_progress.update_one({"_id": "relay"}, {"$set": {"n": number}}, upsert=True)

    await timed("progress doc update_one x20 (per write figure below)", 20, progress_writes)


async def profile_change_stream(outbox, topic: str, count: int, batch: int) -> None:
    """Replay `count` committed inserts from a stored resume token, as a restarted relay would."""
    print("change stream replay (commit order)", flush=True)
    async with await outbox.watch() as stream:
        await stream.try_next()
        token = stream.resume_token
    await fill(outbox, topic, count)
    pipelines = {"all events": [], "$match insert + $project": [
        {"$match": {"operationType": "insert"}},
        {"$project": {"fullDocument.topic": 1, "fullDocument.key": 1, "fullDocument.value": 1,
                      "fullDocument.headers": 1, "clusterTime": 1}}]}
    for label, pipeline in pipelines.items():
        for size in (batch, 10_000):
            async def replay(pipeline=pipeline, size=size) -> None:
                seen = 0
                async with await outbox.watch(pipeline, resume_after=token, batch_size=size) as stream:
                    while seen < count:
                        change = await stream.try_next()
                        seen += change is not None
            await timed(f"{label}, batch_size {size}", count, replay)


async def main(rows: int, batch: int) -> None:
    infra = BenchInfra.from_env()
    topic, db_name = infra.name("bench_outbox", "prof"), infra.name("bench_outbox", "prof")
    await ensure_topics(infra.kafka_bootstrap, [TopicSpec(topic, 12)])
    await wait_for_leaders(infra.kafka_bootstrap, {topic: 12})
    client = connect_mongo(infra.mongo_uri, "bench-outbox-profile")
    db = client[db_name]
    producer = open_idempotent_producer(infra.kafka_bootstrap, "bench-outbox-profile")
    try:
        await ensure_outbox_indexes(db)
        outbox = db[OUTBOX_COLLECTION]
        await timed("fill (insert_many chunks of 1000)", rows, lambda: fill(outbox, topic, rows))
        await producer.start()
        batch_rows = await profile_reads(outbox, batch)
        await profile_publish(producer, batch_rows)
        await profile_marking(db, outbox, batch)
        await profile_change_stream(outbox, topic, rows, batch)
    finally:
        await producer.stop()
        await drop_databases(client, [db_name])
        await delete_topics(infra.kafka_bootstrap, [topic])
        await client.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.outbox.profile")
    parser.add_argument("--rows", type=int, default=12_000)
    parser.add_argument("--batch", type=int, default=2000)
    options = parser.parse_args()
    asyncio.run(main(options.rows, options.batch))
