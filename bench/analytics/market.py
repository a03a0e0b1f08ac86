"""The load: tenants, the trades they make, and publishing them on a fixed schedule."""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from datetime import UTC, datetime

from park.trades.v1 import events_pb2 as trade_events
from parkos.events import build_envelope, envelope_headers
from parkos.ids import new_id

from bench.analytics.observer import Observer, Trade

SUB_PARKS = ["sp-hq", "sp-energy", "sp-manufacturing", "sp-ai", "sp-media", "sp-logistics", "sp-health",
             "sp-finance", "sp-agriculture"]
SECTORS = [f"sec-{name}" for name in ("digital-energy", "digital-manufacturing", "industrial-internet", "live-commerce",
                                      "esports", "virtual-humans", "ai-model-services", "data-services")]
FEE_BPS = 300
# Publish calls wait for acknowledgements in groups: bounded memory, and the schedule is kept.
ACK_GROUP = 2000


class Market:
    """Tenants and the trades they make: precomputed envelopes (publishing stays cheap)."""

    def __init__(self, tenants: int, probes: int, rng: random.Random) -> None:
        self.rng = rng
        self.tenants = [
            trade_events.TenantPlacement(tenant_id=new_id("ten"), sub_park_id=rng.choice(SUB_PARKS),
                                         sector_id=rng.choice(SECTORS))
            for _ in range(tenants)
        ]
        self.probe_ids = [t.tenant_id for t in self.tenants[:probes]]
        self.sold: dict[int, int] = defaultdict(int)

    def trades(self, count: int, probes_only: bool = False) -> list[Trade]:
        """``count`` TradeSettled between random tenants (sellers among the probes if ``probes_only``)."""
        made = []
        probes = len(self.probe_ids)
        for _ in range(count):
            seller = self.rng.randrange(probes) if probes_only else self.rng.randrange(len(self.tenants))
            buyer = self.rng.randrange(len(self.tenants) - 1)
            buyer += buyer >= seller
            gross = self.rng.randint(1_000, 2_000_000)
            fee = (gross * FEE_BPS + 5000) // 10_000
            order_id = new_id("ord")
            message = trade_events.TradeSettled(
                settlement_id=new_id("set"), order_id=order_id, product_id="prd_bench",
                buyer=self.tenants[buyer], seller=self.tenants[seller],
                gross={"amount_minor": gross, "currency": "CNY"}, fee={"amount_minor": fee, "currency": "CNY"},
                net={"amount_minor": gross - fee, "currency": "CNY"}, fee_bps=FEE_BPS, classification_level=2,
            )
            message.settled_at.FromDatetime(datetime.now(UTC))
            envelope = build_envelope(message, producer="trades", aggregate_id=order_id,
                                      tenant_id=self.tenants[seller].tenant_id)
            self.sold[seller] += 1
            made.append(Trade(order_id, envelope.event_id, seller, envelope.SerializeToString(),
                              envelope_headers(envelope), probe_seq=self.sold[seller] if seller < probes else 0))
        return made


async def publish_paced(producer, topic: str, trades: list[Trade], rate: float, observer: Observer,  # type: ignore[no-untyped-def]
                        market: Market) -> None:
    """Publish at `rate`/s on a fixed schedule, in slices of 2 ms; lateness is counted."""
    timings = observer.timings
    start = time.monotonic()
    pending = []
    for number, trade in enumerate(trades):
        slot = start + number / rate
        delay = slot - time.monotonic()
        if delay > 0.002:
            await asyncio.sleep(delay)
        slip = time.monotonic() - slot
        if slip > 0.010:
            timings.late_starts += 1
        timings.max_slip_ms = max(timings.max_slip_ms, slip * 1000)
        observer.expect(trade, market.tenants[trade.seller].tenant_id)
        trade.published = time.monotonic()
        pending.append(await producer.send(topic, trade.value, key=trade.order_id.encode(), headers=trade.headers))
        if len(pending) >= ACK_GROUP:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)
    timings.published += len(trades)
    timings.seconds += time.monotonic() - start
