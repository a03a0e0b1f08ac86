"""Appending events to the outbox inside the caller's transaction."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from park.events.v1.envelope_pb2 import Envelope
from pymongo import ASCENDING, InsertOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from parkos.events.envelope import envelope_headers

OUTBOX_COLLECTION = "outbox"


def outbox_document(topic: str, envelope: Envelope) -> dict:
    """One outbox row. _id is the UUIDv7 event id, so _id order is commit-attempt order."""
    return {
        "_id": envelope.event_id,
        "topic": topic,
        "key": envelope.aggregate_id,
        "value": envelope.SerializeToString(),
        "headers": [[name, value] for name, value in envelope_headers(envelope)],
        "type": envelope.type,
        "created_at": datetime.now(UTC),
        "sent": False,
    }


async def append_to_outbox(
    db: AsyncDatabase, session: AsyncClientSession, topic: str, envelopes: Sequence[Envelope]
) -> None:
    """Write `envelopes` for `topic` in the transaction that `session` is running.

    Build the envelopes inside the transaction callback, after its reads and writes of the
    aggregate: a retried callback then gets fresh event ids, nothing from an aborted attempt
    survives, and a key's later row gets a later id than its earlier one (the relay's
    scan relies on it: scan.unsent_pages).
    """
    _require_transaction(session)
    if envelopes:
        await db[OUTBOX_COLLECTION].insert_many(
            [outbox_document(topic, envelope) for envelope in envelopes], session=session, ordered=True
        )


def outbox_inserts(
    db: AsyncDatabase, session: AsyncClientSession, topic: str, envelopes: Sequence[Envelope]
) -> list[InsertOne]:
    """`envelopes`' outbox rows as inserts for a client-level bulk write (``parkos.mongo.write_together``)
    in the transaction `session` runs: the state change's own inserts and its events then reach
    the store in one round trip. Build them inside the transaction callback, as for
    `append_to_outbox`."""
    _require_transaction(session)
    namespace = f"{db.name}.{OUTBOX_COLLECTION}"
    return [InsertOne(outbox_document(topic, envelope), namespace=namespace) for envelope in envelopes]


def _require_transaction(session: AsyncClientSession) -> None:
    if not session.in_transaction:
        raise RuntimeError("outbox rows must be written inside the state change's transaction")


async def ensure_outbox_indexes(db: AsyncDatabase, *, keep_sent_seconds: int = 7 * 24 * 3600) -> None:
    """The relay scans unsent rows in _id order; sent rows expire after a week."""
    outbox = db[OUTBOX_COLLECTION]
    await outbox.create_index([("sent", ASCENDING), ("_id", ASCENDING)], name="unsent_in_order")
    await outbox.create_index("sent_at", name="sent_expiry", expireAfterSeconds=keep_sent_seconds)
