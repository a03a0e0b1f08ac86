"""The sizes of one run: the command-line flags, --quick's smaller defaults, and the
relay options they imply."""
from __future__ import annotations

import argparse
import inspect
from dataclasses import dataclass

from parkos.outbox import OutboxRelay


@dataclass(frozen=True)
class Settings:
    """Sizes of one run (CLI flags)."""

    partitions: int
    keys: int
    records: int
    concurrency: tuple[int, ...]
    tx_seconds: float
    backlog: int
    latency_seconds: float
    latency_fraction: float
    full_rate_seconds: float
    drain_timeout: float
    relay_batch_size: int | None
    serial_records: int
    keep: bool
    fail_on_miss: bool


def parse_args(argv: list[str] | None = None) -> tuple[Settings, argparse.Namespace]:
    """Flags; --quick swaps in small sizes for any flag left at its default."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.outbox",
        description="Transactional outbox benchmark against the running Kafka and MongoDB-compatible server.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--kafka-bootstrap", help="default: PARKOS_KAFKA_BOOTSTRAP or 127.0.0.1:19092")
    parser.add_argument("--mongo-uri", help="default: PARKOS_MONGO_URI or mongodb://127.0.0.1:27117/?directConnection=true")
    parser.add_argument("--quick", action="store_true", help="smoke run (~30 s): small sizes for unset flags")
    parser.add_argument("--partitions", type=int, default=12, help="partitions of every topic [12, as park.trades.v1]")
    parser.add_argument("--keys", type=int, default=1000, help="distinct aggregate ids, i.e. record keys [1000]")
    parser.add_argument("--records", type=int, default=None, help="A: records the raw producer sends [20000; quick 3000]")
    parser.add_argument("--serial-records", type=int, default=300, help="A: records then sent one at a time, the latency floor [300]")
    parser.add_argument("--concurrency", default=None, help="B, C: comma-separated writer counts [1,4,8; quick 1,4]")
    parser.add_argument("--tx-seconds", type=float, default=None, help="B, C: measured seconds per concurrency [5; quick 2]")
    parser.add_argument("--backlog", type=int, default=None, help="D: unsent rows the relay drains [20000; quick 3000]")
    parser.add_argument("--latency-seconds", type=float, default=None, help="E: paced seconds at the fraction [15; quick 6]")
    parser.add_argument("--latency-fraction", type=float, default=0.5, help="E: fraction of the sustainable outbox write rate [0.5]")
    parser.add_argument("--full-rate-seconds", type=float, default=None, help="E: paced seconds at C's rate with the relay running, which measures the sustainable rate; 0 skips it (the fraction is then of C) [8; quick 3]")
    parser.add_argument("--drain-timeout", type=float, default=60.0, help="D: stop draining after this many seconds and report the partial rate [60]")
    parser.add_argument("--relay-batch-size", type=int, default=None, help="D, E: OutboxRelay batch_size [the relay's default]")
    parser.add_argument("--keep", action="store_true", help="keep the run's topics and databases (default: delete them)")
    parser.add_argument("--fail-on-miss", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)

    def pick(value, default, quick):
        return value if value is not None else (quick if args.quick else default)

    concurrency = tuple(int(part) for part in pick(args.concurrency, "1,4,8", "1,4").split(",") if part.strip())
    settings = Settings(
        partitions=args.partitions,
        keys=args.keys,
        records=pick(args.records, 20_000, 3_000),
        concurrency=concurrency,
        tx_seconds=pick(args.tx_seconds, 5.0, 2.0),
        backlog=pick(args.backlog, 20_000, 3_000),
        latency_seconds=pick(args.latency_seconds, 15.0, 6.0),
        latency_fraction=args.latency_fraction,
        full_rate_seconds=pick(args.full_rate_seconds, 8.0, 3.0),
        drain_timeout=args.drain_timeout,
        relay_batch_size=args.relay_batch_size,
        serial_records=min(args.serial_records, pick(args.records, 20_000, 3_000)),
        keep=args.keep,
        fail_on_miss=args.fail_on_miss,
    )
    if min(settings.concurrency, default=0) < 1 or settings.records < 1 or settings.backlog < 1:
        parser.error("--concurrency, --records and --backlog must be positive")
    if not 0 < settings.latency_fraction <= 1:
        parser.error("--latency-fraction must be in (0, 1]")
    return settings, args


def relay_options(settings: Settings) -> dict:
    """OutboxRelay keyword arguments: only what the command line overrides."""
    return {} if settings.relay_batch_size is None else {"batch_size": settings.relay_batch_size}


def relay_batch_size(settings: Settings) -> int:
    """The batch size the relays run with: the flag, else OutboxRelay's own default."""
    if settings.relay_batch_size is not None:
        return settings.relay_batch_size
    return inspect.signature(OutboxRelay).parameters["batch_size"].default
