"""MongoDB connection and the one way Park OS runs a transaction."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from pymongo import AsyncMongoClient, ReadPreference, WriteConcern
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.read_concern import ReadConcern

T = TypeVar("T")

TransactionCallback = Callable[[AsyncClientSession], Awaitable[T]]


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
