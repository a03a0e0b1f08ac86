"""Handing outbox rows to the idempotent producer, and collecting the acknowledgements in order."""
from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence

from aiokafka import AIOKafkaProducer

from parkos.outbox.changes import Committed

# Records handed to the producer between two yields to the event loop. `send` rarely waits,
# so a batch of thousands would hold the loop for tens of ms, and the change-stream reader
# could not ask the store for the next rows meanwhile: the store's work and ours would take
# turns instead of overlapping.
YIELD_EVERY = 100


async def send_rows(producer: AIOKafkaProducer, rows: Sequence[dict]) -> asyncio.Future:
    """Send `rows` in order without waiting record by record; the returned future ends when
    every record is acknowledged by all in-sync replicas (or fails with the first error).

    Records go into the producer's per-partition queues in call order and the producer is
    idempotent, so each partition - hence each key - keeps the rows' order even with
    several batches in flight.
    """
    deliveries = []
    for count, row in enumerate(rows, 1):
        deliveries.append(await producer.send(row["topic"], row["value"], key=row["key"].encode(),
                                              headers=[(name, bytes(value)) for name, value in row["headers"]]))
        if count % YIELD_EVERY == 0:
            await asyncio.sleep(0)
    return asyncio.gather(*deliveries)


class InFlightBatches:
    """Batches sent and not yet acknowledged, settled strictly in the order they were sent.

    Sending never waits for acknowledgements (only for a free slot, so memory and the
    re-send after a failure stay bounded); a separate task waits for them. A row read
    while older rows await their acks is therefore sent at once, not an ack later.
    """

    def __init__(self, producer: AIOKafkaProducer, *, slots: int) -> None:
        self._producer = producer
        self._batches: deque[tuple[list[Committed], asyncio.Future]] = deque()
        self._slots = asyncio.Semaphore(slots)
        self._sent = asyncio.Event()

    async def send(self, items: list[Committed]) -> None:
        """Send the rows of `items` (ticks carry none) once a slot is free."""
        await self._slots.acquire()
        rows = [item.row for item in items if item.row is not None]
        self._batches.append((items, await send_rows(self._producer, rows)))
        self._sent.set()

    async def settle(self, on_acknowledged: Callable[[list[Committed]], None]) -> None:
        """Forever: wait for the oldest batch's acks, then pass its items on, in order.

        A failed record raises here and so ends the session: its rows were never handed
        on, so the next session reads and sends them again.
        """
        while True:
            while not self._batches:
                self._sent.clear()
                await self._sent.wait()
            items, acknowledged = self._batches[0]
            await acknowledged
            self._batches.popleft()
            self._slots.release()
            on_acknowledged(items)

    def oldest_row(self) -> dict | None:
        """The oldest row sent and not yet acknowledged, if any."""
        return next((item.row for items, _ in self._batches for item in items if item.row is not None), None)
