"""Store pause probe: does the MongoDB-compatible store stop answering now and then under writes?

Every service's tail latency sits on the store, so a store that stops the world for a few
hundred milliseconds every half minute puts those milliseconds into every p99 above it.
This probe pings the store every 5 ms and records each ping's round trip:

  I  idle: nothing else writes (the baseline);
  W  next to N writer threads running two-insert transactions back to back.

It prints the pings' p50/p99/max, every pause over 30 ms with its time, the writers'
transaction rate and the store's resident memory before and after. It is how the store's
garbage-collector setting (infra/secantus/sitecustomize.py) was found and is checked: run it
against the store as `make infra-up` starts it, then after
`make infra-down && PARKOS_SECANTUS_DEFAULT_GC=1 make infra-up` (CPython's default collector).

usage (from the repository root, with `make infra-up` running):
  .venv/bin/python -m bench.store_pauses               # about 2 minutes
  .venv/bin/python -m bench.store_pauses --seconds 30  # shorter
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench.common` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pymongo import MongoClient

from bench.common import BenchInfra, LatencyHistogram, Table, Targets, describe_machine, fmt_ms, fmt_rate, progress
from bench.common.cpu_placement import infra_pids

PING_EVERY = 0.005
PAUSE_THRESHOLD_MS = 30.0
LONGEST_PING_TARGET_MS = 100.0  # a pause this long misses every service-level p99 target above the store


@dataclass
class Pings:
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    pauses: list[tuple[str, float]] = field(default_factory=list)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.store_pauses", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--seconds", type=float, default=90.0, help="seconds of pings next to the writers (W)")
    parser.add_argument("--idle-seconds", type=float, default=15.0, help="seconds of pings alone (I)")
    parser.add_argument("--writers", type=int, default=2, help="writer threads in W")
    parser.add_argument("--fail-on-miss", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.idle_seconds <= 0 or args.writers < 0:
        parser.error("--seconds and --idle-seconds must be positive, --writers not negative")
    return args


def ping_for(client: MongoClient, seconds: float) -> Pings:
    """Ping every PING_EVERY seconds for ``seconds``; every round trip recorded."""
    pings = Pings()
    admin = client.admin
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        began = time.perf_counter()
        admin.command("ping")
        took = time.perf_counter() - began
        pings.latency.record(took)
        if took * 1000 > PAUSE_THRESHOLD_MS:
            pings.pauses.append((time.strftime("%H:%M:%S"), took * 1000))
        time.sleep(PING_EVERY)
    return pings


def write_until(client: MongoClient, database: str, stop: threading.Event, done: list[int],
                failures: list[str]) -> None:
    """Two-insert transactions back to back until ``stop``; adds how many committed to ``done``
    and, if the writer had to stop early, why to ``failures``."""
    db = client[database]
    committed = 0
    try:
        with client.start_session() as session:
            while not stop.is_set():
                session.with_transaction(lambda s: (db.orders.insert_one({"pad": "x" * 300}, session=s),
                                                    db.outbox.insert_one({"n": committed}, session=s)))
                committed += 1
    except Exception as error:  # noqa: BLE001 - a writer that stopped is a figure to report, not a crash
        failures.append(f"{type(error).__name__}: {error}")
    finally:
        done.append(committed)


def resident_mb(pid: int | None) -> float | None:
    """The process's resident memory in MB (Linux), None when unknown."""
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run(args: argparse.Namespace) -> bool:
    infra = BenchInfra.from_env()
    infra.check_reachable()
    database = infra.name("bench_store_pauses")
    client = MongoClient(infra.mongo_uri)
    store_pid = infra_pids().get("store")
    rss_before = resident_mb(store_pid)
    progress(f"I: pings alone for {args.idle_seconds:g} s")
    idle = ping_for(client, args.idle_seconds)
    progress(f"W: pings next to {args.writers} writers for {args.seconds:g} s")
    stop, done, failures = threading.Event(), [], []
    writers = [threading.Thread(target=write_until, args=(client, database, stop, done, failures))
               for _ in range(args.writers)]
    for writer in writers:
        writer.start()
    try:
        loaded = ping_for(client, args.seconds)
    finally:
        stop.set()
        for writer in writers:
            writer.join()
    rss_after = resident_mb(store_pid)
    client.drop_database(database)
    client.close()
    return report(args, idle, loaded, sum(done) / args.seconds, rss_before, rss_after, failures)


def report(args: argparse.Namespace, idle: Pings, loaded: Pings, transactions_per_second: float,
           rss_before: float | None, rss_after: float | None, failures: list[str]) -> bool:
    print(f"\nStore pause probe — {describe_machine()}\n")
    table = Table(f"Pings every {PING_EVERY * 1000:g} ms",
                  ["run", "pings", "p50", "p99", "max", f"pauses > {PAUSE_THRESHOLD_MS:g} ms"])
    for name, pings in ((f"I idle, {args.idle_seconds:g} s", idle),
                        (f"W next to {args.writers} writers, {args.seconds:g} s", loaded)):
        summary = pings.latency.summary()
        table.add(name, f"{summary.count:,}", fmt_ms(summary.p50_ms), fmt_ms(summary.p99_ms), fmt_ms(summary.max_ms),
                  f"{len(pings.pauses)}")
    table.note(f"writers: {fmt_rate(transactions_per_second)} two-insert transactions")
    for failure in failures:
        table.note(f"a writer stopped early: {failure}")
    if rss_before is not None and rss_after is not None:
        table.note(f"store resident memory: {rss_before:,.0f} MB before, {rss_after:,.0f} MB after")
    if loaded.pauses:
        table.note("pauses under writes: " + ", ".join(f"{at} {fmt_ms(ms)}" for at, ms in loaded.pauses))
    table.print()
    targets = Targets()
    worst = loaded.latency.summary().max_ms
    targets.check("longest ping next to writers", f"<= {LONGEST_PING_TARGET_MS:g} ms", fmt_ms(worst),
                  worst <= LONGEST_PING_TARGET_MS)
    targets.print()
    return targets.all_passed and not failures


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if not run(args) and args.fail_on_miss:
        sys.exit(1)


if __name__ == "__main__":
    main()
