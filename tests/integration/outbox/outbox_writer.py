"""A separate process that writes state + outbox events, so tests can SIGKILL it at chosen moments.

usage: outbox_writer.py MODE MONGO_URI DB KAFKA TOPIC [COUNT]
  commit-only  commit COUNT events with no relay running, print "done", then wait to be killed
  burst        run the relay and commit COUNT events as fast as possible (killed in the middle)
  relay        scan and publish unsent rows (drain_once) until none is left, then exit 0
  run          run the relay (change stream from its stored position) until every row is
               marked sent, then stop it and exit 0
"""
from __future__ import annotations

import asyncio
import sys

from park.common.v1.money_pb2 import Money

from parkos.events import build_envelope
from parkos.mongo import connect_mongo, run_in_transaction
from parkos.outbox import OutboxRelay, append_to_outbox, ensure_outbox_indexes, open_idempotent_producer

KEYS = 7  # events spread over a few aggregates, so per-key order is checked


async def commit_event(client, db, topic: str, number: int) -> None:
    """One state change and its event, in one transaction."""
    async def change(session) -> None:
        key = f"acct-{number % KEYS}"
        await db.ledger.insert_one({"_id": number, "key": key}, session=session)
        envelope = build_envelope(Money(amount_minor=number, currency="CNY"), producer="writer", aggregate_id=key)
        await append_to_outbox(db, session, topic, [envelope])

    await run_in_transaction(client, change)


async def main(mode: str, mongo_uri: str, db_name: str, kafka: str, topic: str, count: int) -> None:
    client = connect_mongo(mongo_uri, "outbox-writer")
    db = client[db_name]
    await ensure_outbox_indexes(db)
    relay = OutboxRelay(db, lambda: open_idempotent_producer(kafka, "outbox-writer"), service="writer")
    if mode == "relay":
        while await relay.drain_once():
            pass
        await relay.stop()
        return
    if mode == "run":
        await relay.start()
        while await db.outbox.count_documents({"sent": False}):
            await asyncio.sleep(0.1)
        await relay.stop()
        return
    if mode == "burst":
        await relay.start()
    for number in range(count):
        await commit_event(client, db, topic, number)
        relay.notify()
        print(f"committed {number}", flush=True)
    print("done", flush=True)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    mode, mongo_uri, db_name, kafka, topic, *rest = sys.argv[1:]
    asyncio.run(main(mode, mongo_uri, db_name, kafka, topic, int(rest[0]) if rest else 0))
