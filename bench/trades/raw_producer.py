"""K: the raw Kafka producer, Park OS's idempotent acks=all producer sending records of a
TradeSettled's size; only acknowledged records count."""
from __future__ import annotations

import itertools

from parkos.outbox import open_idempotent_producer

from bench.common import LoadResult, run_closed_loop
from bench.trades.sample_order import sample_settled_envelope


async def raw_producer(bootstrap: str, topic: str, *, senders: int, seconds: float) -> LoadResult:
    """N senders each awaiting their own record's acknowledgement, back to back (closed loop)."""
    producer = open_idempotent_producer(bootstrap, client_id="bench-trades-raw")
    await producer.start()
    value = sample_settled_envelope().SerializeToString()
    keys = itertools.count()
    try:
        async def send() -> None:
            await producer.send_and_wait(topic, value, key=f"ord_{next(keys):08d}".encode())

        return await run_closed_loop(send, concurrency=senders, seconds=seconds)
    finally:
        await producer.stop()
