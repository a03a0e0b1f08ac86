"""A: the raw Kafka producer, the baseline the relay is measured against.

Park OS's own idempotent acks=all producer (the relay's configuration) sends N prepared
envelopes pipelined; only acknowledged records count. Then a few records one at a time:
the broker's own send->ack latency, the floor under commit->Kafka.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from functools import partial

from bench.common import BenchInfra, LatencyHistogram, Table, fmt_count, fmt_ms, fmt_rate, rate
from bench.outbox.events import Events
from bench.outbox.settings import Settings
from parkos.events import envelope_headers
from parkos.outbox import open_idempotent_producer


@dataclass
class RawResult:
    """Baseline A."""

    sent: int
    acked: int
    failed: int
    seconds: float
    latency: LatencyHistogram
    first_error: str | None = None
    serial_latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    serial_failed: int = 0

    @property
    def throughput(self) -> float:
        """Acknowledged records per second, first send to last acknowledgement."""
        return rate(self.acked, self.seconds)


async def bench_raw_producer(infra: BenchInfra, topic: str, settings: Settings) -> RawResult:
    """Send `records` envelopes pipelined with the relay's own producer configuration."""
    events = Events(settings.keys)
    prepared = []
    for _ in range(settings.records):
        envelope = Events.envelope(*events.next())
        prepared.append((envelope.SerializeToString(), envelope.aggregate_id.encode(), envelope_headers(envelope)))

    producer = open_idempotent_producer(infra.kafka_bootstrap, "bench-raw-producer")
    await producer.start()
    try:
        # warm-up, not measured: metadata, the leader connection, a producer id
        await asyncio.gather(*[
            await producer.send(topic, b"warm-up", key=b"warm-up", partition=partition)
            for partition in range(settings.partitions)
        ])
        latency = LatencyHistogram()
        result = RawResult(sent=0, acked=0, failed=0, seconds=0.0, latency=latency)
        last_ack = 0.0

        def acknowledged(future: asyncio.Future, sent_at: float) -> None:
            nonlocal last_ack
            now = time.monotonic()
            if future.cancelled() or future.exception() is not None:
                result.failed += 1
                if result.first_error is None and not future.cancelled():
                    result.first_error = repr(future.exception())
                return
            result.acked += 1
            last_ack = now
            latency.record(now - sent_at)

        started = time.monotonic()
        deliveries = []
        for value, key, headers in prepared:
            sent_at = time.monotonic()
            delivery = await producer.send(topic, value, key=key, headers=headers)
            delivery.add_done_callback(partial(acknowledged, sent_at=sent_at))
            deliveries.append(delivery)
        result.sent = len(deliveries)
        await asyncio.gather(*deliveries, return_exceptions=True)
        await asyncio.sleep(0)  # let the last done-callbacks run
        result.seconds = (last_ack or time.monotonic()) - started

        # one record at a time: the broker's own send->ack latency, the floor under commit->Kafka
        for value, key, headers in prepared[: settings.serial_records]:
            sent_at = time.monotonic()
            try:
                await (await producer.send(topic, value, key=key, headers=headers))
            except Exception as error:  # noqa: BLE001 - a failed record is a figure
                result.serial_failed += 1
                result.first_error = result.first_error or repr(error)
            else:
                result.serial_latency.record(time.monotonic() - sent_at)
        return result
    finally:
        await producer.stop()


def print_raw_producer(raw: RawResult, topic: str, settings: Settings) -> None:
    """Table A: pipelined and one-at-a-time send->ack."""
    raw_summary = raw.latency.summary()
    table = Table("A. Raw Kafka producer (idempotent, acks=all, linger 2 ms; only acknowledged records count)",
                  ["measurement", "sent", "acked", "failed", "seconds", "acked/s", "p50", "p99", "max"])
    table.add("send->ack, pipelined", fmt_count(raw.sent), fmt_count(raw.acked), raw.failed,
              f"{raw.seconds:.2f}", fmt_rate(raw.throughput), fmt_ms(raw_summary.p50_ms),
              fmt_ms(raw_summary.p99_ms), fmt_ms(raw_summary.max_ms))
    serial = raw.serial_latency.summary()
    table.add("send->ack, one at a time", fmt_count(serial.count + raw.serial_failed), fmt_count(serial.count),
              raw.serial_failed, "", "", fmt_ms(serial.p50_ms), fmt_ms(serial.p99_ms), fmt_ms(serial.max_ms))
    table.note(f"topic {topic}, {settings.partitions} partitions; pipelined latency includes waiting in the "
               "producer's buffer behind the records sent before it (all N are in flight at once)")
    table.note("one at a time: the broker's own send->ack time (linger 2 ms included), the floor under "
               "commit->Kafka; not counted in acked/s")
    if raw.first_error:
        table.note(f"first error: {raw.first_error}")
    table.print()
