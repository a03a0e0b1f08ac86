"""The run's tables (closed loop, one at a time, paced) and the targets, each PASS or MISS as measured."""
from __future__ import annotations

from bench.common import LoadResult, Table, Targets, describe_machine, fmt_ms, fmt_rate
from bench.common.proc import fmt_cores_busy, fmt_cpu_per_call
from bench.trades.park_setup import SUB_PARKS
from bench.trades.settings import BARE_RATIO_TARGET, KAFKA_P99_TARGET_MS, RPC_P99_TARGET_MS


def _row(table: Table, name: str, result: LoadResult, note: str = "") -> None:
    summary = result.latency.summary()
    table.add(name, fmt_rate(result.throughput), fmt_ms(summary.p50_ms), fmt_ms(summary.p99_ms),
              f"{result.errors:,}", note)


def print_report(args, raw, bare, closed, closed_kafka, closed_missing, single, paced, paced_kafka, paced_missing,  # type: ignore[no-untyped-def]
                 paced_cpu=None) -> bool:
    """Print the tables and the targets; returns whether every target was met."""
    print(f"\nTrades service benchmark — {describe_machine()}\nCPU placement: {args.placement_note}\n"
          f"Park: {args.park_tenants:,} tenants known to the service in {len(SUB_PARKS)} sub-parks; "
          f"{args.buyers} buyers order {args.products} products of one seller\n")
    table = Table(f"Closed loop, concurrency {args.clients}, {args.seconds:g} s each",
                  ["what", "throughput", "p50", "p99", "errors", "note"])
    _row(table, "K raw Kafka producer (acks=all)", raw, "baseline: a TradeSettled-sized record, acknowledged")
    _row(table, "B bare Mongo transaction", bare, "baseline: 1 read + the order's 5 writes in 1 bulkWrite, no gRPC")
    ratio = closed.throughput / bare.throughput if bare.throughput else 0.0
    _row(table, "P PlaceOrder (RPC)", closed, f"{ratio:.0%} of B")
    summary = closed_kafka.summary()
    table.add("P PlaceOrder -> TradeSettled on Kafka", "", fmt_ms(summary.p50_ms), fmt_ms(summary.p99_ms),
              f"{closed_missing:,} missing", "RPC start -> consumer receipt")
    table.note("PlaceOrder: 3 reads by _id (product; both tenants; their sub-parks' fee rates) + the 5 writes (1 bulkWrite) in one transaction")
    table.note("every call runs the production interceptors: correlation, JSON access log, errors, token check")
    table.print()
    table = Table("One at a time (the floor of each call's latency on this machine)",
                  ["what", "throughput", "p50", "p99", "errors", "note"])
    _row(table, "B1 bare Mongo transaction, 1 writer", single["B"])
    _row(table, "P1 PlaceOrder, 1 client", single["P"])
    table.print()
    table = Table(f"Paced at half the sustainable rate, {args.paced_seconds:g} s",
                  ["what", "offered", "p50", "p99", "errors", "late starts", "service CPU/call"])
    rpc, kafka = paced.latency.summary(), paced_kafka.summary()
    table.add("Q PlaceOrder (RPC)", fmt_rate(paced.offered_rate), fmt_ms(rpc.p50_ms), fmt_ms(rpc.p99_ms),
              f"{paced.errors:,}", f"{paced.late_starts:,}", fmt_cpu_per_call(paced_cpu, paced.completed))
    table.add("Q PlaceOrder -> TradeSettled on Kafka", "", fmt_ms(kafka.p50_ms), fmt_ms(kafka.p99_ms),
              f"{paced_missing:,} missing", "", "")
    handled = args.paced_handled.summary()
    table.add("Q PlaceOrder inside the service", "", *((fmt_ms(handled.p50_ms), fmt_ms(handled.p99_ms))
              if handled.count else ("-", "-")), f"{handled.count:,} logged", "", "")
    table.note("latency counts from each call's scheduled start (no coordinated omission); inside the service:")
    table.note("the access log's duration, from the first interceptor to the handler's end (no transport, no client)")
    table.note("service CPU/call: the service process's CPU time over the run / calls (relay and background work")
    table.note("included); it varies far less than latency on a shared machine, so compare it between runs")
    table.note(f"during Q, {fmt_cores_busy(args.paced_cores)}")
    table.print()
    targets = Targets()
    targets.check("PlaceOrder rate vs bare transaction", f">= {BARE_RATIO_TARGET:.0%}", f"{ratio:.0%}",
                  ratio >= BARE_RATIO_TARGET if bare.throughput and closed.completed else None)
    targets.check("PlaceOrder RPC p99 at half rate", f"<= {RPC_P99_TARGET_MS:g} ms", fmt_ms(rpc.p99_ms),
                  rpc.p99_ms <= RPC_P99_TARGET_MS if paced.completed else None)
    targets.check("RPC -> Kafka p99 at half rate", f"<= {KAFKA_P99_TARGET_MS:g} ms", fmt_ms(kafka.p99_ms),
                  kafka.p99_ms <= KAFKA_P99_TARGET_MS if paced_kafka.count and not paced_missing else None)
    targets.print()
    return targets.all_passed
