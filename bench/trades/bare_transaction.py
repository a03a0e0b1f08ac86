"""B and B1: a bare Mongo transaction with an order's writes, what PlaceOrder's writes cost
without its own reads, gRPC or service."""
from __future__ import annotations

from pymongo import InsertOne

from parkos.ids import new_id
from parkos.mongo import run_in_transaction, write_together
from parkos.outbox.writer import outbox_inserts

from bench.common import LoadResult, run_closed_loop
from bench.trades.sample_order import sample_order
from services.trades import documents
from services.trades.mapping import event_envelope
from services.trades.settlement import OrderPlaced, TradeSettled
from services.trades.store import TradesStore


async def bare_transaction(mongo, database: str, *, writers: int, seconds: float) -> LoadResult:  # type: ignore[no-untyped-def]
    """The order's writes (order, settlement, license, 2 outbox rows) in one transaction, N writers.

    The collections carry the service's indexes and the writes go as the service sends them
    (one bulkWrite), so B pays what PlaceOrder's writes pay. One read by _id comes first:
    the store refuses a bulkWrite as a transaction's first command (see
    ``parkos.mongo.write_together``), and PlaceOrder reads before it writes.
    """
    db = mongo[database]
    # the same collections with the same indexes as the service's (created outside any transaction)
    await TradesStore(mongo, database).ensure_indexes()

    async def write() -> None:
        order = sample_order(new_id("ord"), new_id("stl"), new_id("lic"))

        async def work(session) -> None:  # type: ignore[no-untyped-def]
            await db.orders.find_one({"_id": order.order_id}, session=session)
            rows = [(db.orders, documents.order_document(order)),
                    (db.settlements, documents.settlement_document(order)),
                    (db.licenses, documents.license_document(order))]
            events = [event_envelope(e, correlation_id=None) for e in (OrderPlaced(order), TradeSettled(order))]
            writes = [InsertOne(document, namespace=collection.full_name) for collection, document in rows]
            await write_together(mongo, session, [*writes, *outbox_inserts(db, session, "bench", events)])

        await run_in_transaction(mongo, work)

    return await run_closed_loop(write, concurrency=writers, seconds=seconds)
