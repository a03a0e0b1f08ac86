"""What Park OS needs from its MongoDB wire-protocol server, shown against the real one with pymongo."""
from __future__ import annotations

import asyncio

import pytest
from pymongo import InsertOne, UpdateOne
from pymongo.errors import DuplicateKeyError, OperationFailure

from parkos.mongo import connect_mongo, run_in_transaction, write_together

pytestmark = pytest.mark.infra


@pytest.fixture
async def store(infra):
    client = connect_mongo(infra.mongo_uri, "capability-test")
    db = client[infra.unique_name("capabilities")]
    await db.create_collection("state")
    await db.create_collection("outbox")
    yield client, db
    await client.close()


async def test_a_multi_document_transaction_commits_both_writes_or_neither(store):
    client, db = store

    async def both(session):
        await db.state.insert_one({"_id": "order-1"}, session=session)
        await db.outbox.insert_one({"_id": "event-1"}, session=session)

    await run_in_transaction(client, both)

    async def fails_after_first_write(session):
        await db.state.insert_one({"_id": "order-2"}, session=session)
        raise RuntimeError("crash before the outbox write")

    with pytest.raises(RuntimeError):
        await run_in_transaction(client, fails_after_first_write)
    assert await db.state.count_documents({}) == 1
    assert await db.outbox.count_documents({}) == 1


async def test_writes_inside_an_open_transaction_are_invisible_outside_it(store):
    client, db = store
    async with client.start_session() as session:
        await session.start_transaction()
        await db.state.insert_one({"_id": "hidden"}, session=session)
        assert await db.state.find_one({"_id": "hidden"}) is None
        await session.commit_transaction()
    assert await db.state.find_one({"_id": "hidden"}) is not None


async def test_concurrent_transactions_on_one_document_conflict_instead_of_losing_an_update(store):
    client, db = store
    await db.state.insert_one({"_id": "balance", "amount": 0})
    async with client.start_session() as first, client.start_session() as second:
        await first.start_transaction()
        await second.start_transaction()
        await db.state.update_one({"_id": "balance"}, {"$inc": {"amount": 1}}, session=first)
        with pytest.raises(OperationFailure) as conflict:
            await db.state.update_one({"_id": "balance"}, {"$inc": {"amount": 1}}, session=second)
        assert conflict.value.has_error_label("TransientTransactionError")
        await second.abort_transaction()
        await first.commit_transaction()
    assert (await db.state.find_one({"_id": "balance"}))["amount"] == 1


async def test_a_change_stream_sees_committed_inserts(store):
    client, db = store
    async with await db.outbox.watch() as stream:
        await db.outbox.insert_one({"_id": "watched"})
        change = await asyncio.wait_for(stream.next(), timeout=10)
    assert change["operationType"] == "insert"
    assert change["documentKey"]["_id"] == "watched"


async def test_one_bulk_write_across_collections_is_part_of_the_transaction(store):
    client, db = store
    await db.state.insert_one({"_id": "product"})

    def inserts(*pairs):
        return [InsertOne({"_id": _id}, namespace=f"{db.name}.{collection}") for collection, _id in pairs]

    async def together(session):
        await db.state.find_one({"_id": "product"}, session=session)  # a read first, as a state change does
        await write_together(client, session, inserts(("state", "order-1"), ("outbox", "event-1")))

    await run_in_transaction(client, together)
    assert await db.outbox.find_one({"_id": "event-1"}) is not None

    async def duplicate(session):
        await db.state.find_one({"_id": "product"}, session=session)
        await write_together(client, session, inserts(("outbox", "event-2"), ("state", "order-1")))

    with pytest.raises(DuplicateKeyError):  # as insert_one raises it, not wrapped
        await run_in_transaction(client, duplicate)
    assert await db.outbox.find_one({"_id": "event-2"}) is None  # rolled back with the transaction


async def test_a_write_conflict_in_one_bulk_write_is_transient_so_the_transaction_runs_again(store):
    client, db = store
    await db.state.insert_one({"_id": "balance", "amount": 0})
    bump = [UpdateOne({"_id": "balance"}, {"$inc": {"amount": 1}}, namespace=f"{db.name}.state")]
    async with client.start_session() as first, client.start_session() as second:
        await first.start_transaction()
        await second.start_transaction()
        await db.state.update_one({"_id": "balance"}, {"$inc": {"amount": 1}}, session=first)
        await db.state.find_one({"_id": "balance"}, session=second)  # a read first, as a state change does
        with pytest.raises(OperationFailure) as conflict:
            await write_together(client, second, bump)
        assert conflict.value.has_error_label("TransientTransactionError")
        await second.abort_transaction()
        await first.commit_transaction()

    async def again(session):  # what with_transaction does with the label: run it again, now alone
        await db.state.find_one({"_id": "balance"}, session=session)
        await write_together(client, session, bump)

    await run_in_transaction(client, again)
    assert (await db.state.find_one({"_id": "balance"}))["amount"] == 2


async def idle_transaction_lifetime(client) -> int | None:
    """The store's transactionLifetimeLimitSeconds, None when it has no such setting (the Python server)."""
    reply = await client.admin.command("getParameter", 1, transactionLifetimeLimitSeconds=1)
    return reply.get("transactionLifetimeLimitSeconds")


async def test_a_transaction_left_open_holds_back_a_commit_from_a_change_stream_no_longer_than_its_lifetime(store):
    # A relay must see each commit soon, whatever other transactions are open; a writer that dies
    # mid-transaction leaves one open until the store aborts it. The Python server delivers the
    # commit at once. The Rust server holds back every later commit until the open transaction
    # ends, so infra/secantus.sh shortens its lifetime from mongod's minute (README, "Local
    # infrastructure"); the store aborts an idle transaction about a second after it expires.
    client, db = store
    lifetime = await idle_transaction_lifetime(client)
    # a minute (mongod's default) would stall every relay that long after a crash: see infra/secantus.sh
    assert lifetime is None or lifetime <= 30
    async with client.start_session() as open_elsewhere:
        await open_elsewhere.start_transaction()
        await db.state.insert_one({"_id": "uncommitted"}, session=open_elsewhere)
        async with await db.outbox.watch(max_await_time_ms=100) as stream:
            await db.outbox.insert_one({"_id": "committed"})
            change = await asyncio.wait_for(stream.next(), timeout=3 + (lifetime or 0))
        await open_elsewhere.abort_transaction()
    assert change["documentKey"]["_id"] == "committed"
