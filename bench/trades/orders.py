"""P, P1 and Q: PlaceOrder calls by the buyers, each with its own token and a new key, in a
closed loop (noting when each order's call started) or paced."""
from __future__ import annotations

import itertools
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from park.trades.v1 import trades_pb2, trades_pb2_grpc
from parkos.ids import new_id

from bench.common import LoadResult, run_open_loop


@dataclass
class Orders:
    """PlaceOrder calls by the buyers (each with its own token), and when each order's call started."""

    stubs: list[trades_pb2_grpc.TradesServiceStub]
    tokens: list[str]
    products: list[str]
    rng: random.Random = field(default_factory=lambda: random.Random(11))
    turn: itertools.count = field(default_factory=itertools.count)

    async def place(self) -> str:
        """One PlaceOrder by a random buyer of a random product, with a new key; returns the order id."""
        request = trades_pb2.PlaceOrderRequest(idempotency_key=new_id("bkey"), product_id=self.rng.choice(self.products))
        stub = self.stubs[next(self.turn) % len(self.stubs)]
        metadata = (("authorization", f"Bearer {self.rng.choice(self.tokens)}"),)
        return (await stub.PlaceOrder(request, timeout=10, metadata=metadata)).order_id

    def recorded(self, starts: dict[str, float]) -> Callable[[], Awaitable[None]]:
        """An operation for the closed loop that notes each order's start in ``starts``."""
        async def op() -> None:
            started = time.monotonic()
            starts[await self.place()] = started
        return op


async def paced(orders: Orders, offered: float, seconds: float, starts: dict[str, float]) -> LoadResult:
    """Open loop; the RPC -> Kafka latency counts from each call's scheduled slot, like the RPC's."""
    interval = 1.0 / offered
    begin = time.monotonic()
    slots = itertools.count()

    async def place() -> None:
        slot = begin + next(slots) * interval  # run_open_loop starts calls in slot order
        starts[await orders.place()] = slot

    return await run_open_loop(place, rate_per_second=offered, seconds=seconds)
