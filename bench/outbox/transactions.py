"""B and C: the Mongo transaction without and with the outbox.

B writes a state doc and a plain row of an outbox row's size; C writes the same state doc
and the row through `append_to_outbox`. Both run closed loop at each `--concurrency`; the
best of C is the sustainable outbox write rate that E paces its writers against.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from bench.common import (
    LoadResult,
    Table,
    best_throughput,
    fmt_count,
    fmt_ms,
    fmt_rate,
    progress,
    sweep_closed_loop,
)
from bench.outbox.events import Events, state_doc
from bench.outbox.settings import Settings
from parkos.mongo import run_in_transaction
from parkos.outbox import append_to_outbox

TxFactory = Callable[[], Awaitable[None]]


async def sweep_concurrency(label: str, op: TxFactory, settings: Settings) -> dict[int, LoadResult]:
    """Closed loop at each concurrency."""
    return await sweep_closed_loop(
        op, settings.concurrency, seconds=settings.tx_seconds, warmup_seconds=0.5,
        before=lambda concurrency: progress(f"{label}: {concurrency} writer(s) for {settings.tx_seconds:g} s"),
    )


def bare_transaction(client: AsyncMongoClient, db: AsyncDatabase, events: Events, row_bytes: int) -> TxFactory:
    """B: state doc + a plain row doc of the same value size as an outbox row, no outbox code."""
    filler = b"x" * row_bytes

    async def op() -> None:
        async def change(session) -> None:
            number, key = events.next()
            await db.accounts.insert_one(state_doc(number, key), session=session)
            await db.rows.insert_one({"_id": f"row_{number:012d}", "key": key, "value": filler,
                                      "created_at": datetime.now(UTC)}, session=session)

        await run_in_transaction(client, change)

    return op


def outbox_transaction(
    client: AsyncMongoClient,
    db: AsyncDatabase,
    topic: str,
    events: Events,
    on_commit: Callable[[str], None] | None = None,
) -> TxFactory:
    """C and E: state doc + outbox row through append_to_outbox; `on_commit(event_id)` after commit."""

    async def op() -> None:
        committed_id = ""

        async def change(session) -> None:
            nonlocal committed_id
            number, key = events.next()
            await db.accounts.insert_one(state_doc(number, key), session=session)
            envelope = Events.envelope(number, key)  # inside the callback: a retry gets a fresh id
            await append_to_outbox(db, session, topic, [envelope])
            committed_id = envelope.event_id

        await run_in_transaction(client, change)
        if on_commit is not None:
            on_commit(committed_id)

    return op


def writers(count: int) -> str:
    """`1 writer`, `4 writers`."""
    return f"{count} writer" + ("" if count == 1 else "s")


def tx_rows(table: Table, name: str, results: dict[int, LoadResult], best_concurrency: int) -> None:
    """One row per concurrency, the best one marked."""
    for concurrency, result in results.items():
        summary = result.latency.summary()
        table.add(name, concurrency, fmt_rate(result.throughput), fmt_ms(summary.p50_ms), fmt_ms(summary.p99_ms),
                  fmt_ms(summary.max_ms), fmt_count(result.completed), result.errors,
                  "<- best" if concurrency == best_concurrency else "")


def print_transactions(bare: dict[int, LoadResult], outbox: dict[int, LoadResult]) -> None:
    """Table B/C, and the sustainable rates: the outbox's as a share of the bare transaction's."""
    bare_c, bare_best = best_throughput(bare)
    outbox_c, outbox_best = best_throughput(outbox)
    sustainable = outbox_best.throughput
    table = Table("B/C. Mongo transactions, closed loop (run_in_transaction: snapshot, w=majority)",
                  ["transaction", "writers", "tx/s", "p50", "p99", "max", "count", "errors", ""])
    tx_rows(table, "B bare: state + row", bare, bare_c)
    tx_rows(table, "C outbox: state + append_to_outbox", outbox, outbox_c)
    table.note(f"sustainable write rate: bare {fmt_rate(bare_best.throughput)} ({writers(bare_c)}), "
               f"outbox {fmt_rate(sustainable)} ({writers(outbox_c)}) = "
               f"{(sustainable / bare_best.throughput if bare_best.throughput else 0) * 100:.0f}% of bare")
    for name, results in (("B", bare), ("C", outbox)):
        for result in results.values():
            if result.first_error:
                table.note(f"{name} first error: {result.first_error}")
                break
    table.print()
