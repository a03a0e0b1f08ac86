"""MongoDB connection and the one way Park OS runs a transaction."""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from pymongo import AsyncMongoClient, ReadPreference, WriteConcern
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import ClientBulkWriteException, DuplicateKeyError, OperationFailure
from pymongo.read_concern import ReadConcern

T = TypeVar("T")

TransactionCallback = Callable[[AsyncClientSession], Awaitable[T]]

WRITE_CONFLICT = 112  # MongoDB's WriteConflict: another transaction wrote the document first


def connect_mongo(uri: str, app_name: str) -> AsyncMongoClient:
    """A client whose writes outside transactions are also majority-acknowledged."""
    return AsyncMongoClient(
        uri,
        appname=app_name,
        tz_aware=True,
        w="majority",
        retryWrites=True,
        serverSelectionTimeoutMS=5000,
    )


async def run_in_transaction(client: AsyncMongoClient, callback: TransactionCallback[T]) -> T:
    """Run `callback(session)` in one transaction: snapshot reads, majority commit.

    pymongo's with_transaction retries the whole callback on transient errors and
    unknown commit results, so the callback must be safe to run twice: build ids and
    events inside it, never mutate state outside the session.
    """
    async with client.start_session() as session:
        return await session.with_transaction(
            callback,
            read_concern=ReadConcern("snapshot"),
            write_concern=WriteConcern("majority"),
            read_preference=ReadPreference.PRIMARY,
        )


async def write_together(client: AsyncMongoClient, session: AsyncClientSession, writes: Sequence[Any]) -> None:
    """Apply namespaced `writes` (InsertOne(..., namespace="db.collection"), ...) in order, in one
    round trip, inside the transaction `session` runs; errors come out as the per-collection
    methods raise them.

    One `bulkWrite` command instead of one command per collection: on the park's store a
    transaction's writes cost a round trip each. It must not be the transaction's first
    command (SecantusDB refuses the snapshot read concern the driver attaches to a first
    command on `bulkWrite`), which holds for a state change that read what it changes.
    pymongo wraps every failure in ClientBulkWriteException, whose error labels are empty:
    `with_transaction` would then not retry a transient error (a write conflict), so the
    underlying error is raised instead, with its labels, and a unique-index violation as
    DuplicateKeyError. A write conflict that the server reports as the write's own error (the
    Rust build of SecantusDB does; MongoDB fails the whole command) gets the label MongoDB
    gives it, TransientTransactionError, so the transaction is run again as it would be there.
    """
    if not writes:
        return
    try:
        await client.bulk_write(list(writes), session=session, ordered=True)
    except ClientBulkWriteException as error:
        raise _unwrapped(error) from None


def _unwrapped(error: ClientBulkWriteException) -> Exception:
    if isinstance(error.error, Exception):
        return error.error
    if isinstance(error.error, dict):  # a failure while reading the reply's cursor, converted by pymongo
        return OperationFailure(error.error.get("errmsg", str(error)), error.error.get("code"), error.error)
    first = (error.write_errors or [{}])[0]
    code = first.get("code")
    message = first.get("errmsg", str(error))
    if code == 11000:
        return DuplicateKeyError(message, code, first)
    if code == WRITE_CONFLICT:
        return OperationFailure(message, code, {**first, "errorLabels": ["TransientTransactionError"]})
    return OperationFailure(message, code, first)
