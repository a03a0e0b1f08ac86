"""B and B1: a bare Mongo transaction with an order's writes, what PlaceOrder's writes cost
without its reads, gRPC or service."""
from __future__ import annotations

from parkos.ids import new_id
from parkos.mongo import run_in_transaction
from parkos.outbox.writer import OUTBOX_COLLECTION, outbox_document

from bench.common import LoadResult, run_closed_loop
from bench.trades.sample_order import sample_order
from services.trades import documents
from services.trades.mapping import event_envelope
from services.trades.settlement import OrderPlaced, TradeSettled
from services.trades.store import TradesStore


async def bare_transaction(mongo, database: str, *, writers: int, seconds: float) -> LoadResult:  # type: ignore[no-untyped-def]
    """The order's writes (order, settlement, license, 2 outbox rows) in one transaction, N writers.

    The collections carry the service's indexes, so B pays what PlaceOrder's writes pay.
    """
    db = mongo[database]
    # the same collections with the same indexes as the service's (created outside any transaction)
    await TradesStore(mongo, database).ensure_indexes()

    async def write() -> None:
        order = sample_order(new_id("ord"), new_id("stl"), new_id("lic"))

        async def work(session) -> None:  # type: ignore[no-untyped-def]
            await db.orders.insert_one(documents.order_document(order), session=session)
            await db.settlements.insert_one(documents.settlement_document(order), session=session)
            await db.licenses.insert_one(documents.license_document(order), session=session)
            rows = [outbox_document("bench", event_envelope(e, correlation_id=None))
                    for e in (OrderPlaced(order), TradeSettled(order))]
            await db[OUTBOX_COLLECTION].insert_many(rows, session=session, ordered=True)

        await run_in_transaction(mongo, work)

    return await run_closed_loop(write, concurrency=writers, seconds=seconds)
