"""Finding unsent rows without a stream position: by the `sent` flag, in _id order.

Used when the relay has no position it can resume from (first start, or the oplog no
longer reaches back to it) and by `OutboxRelay.drain_once`. It is the slow way
(SecantusDB's Python server: an indexed, sorted find costs ~350 us of server time per row), and it
re-sends rows already published but not yet marked, which the outbox allows.
"""
from __future__ import annotations

from collections.abc import AsyncIterator

from pymongo.asynchronous.collection import AsyncCollection

UNSENT = {"sent": False}


async def unsent_batch(outbox: AsyncCollection, limit: int, *, after_id: str | None = None,
                       up_to_id: str | None = None) -> list[dict]:
    """Up to `limit` unsent rows in _id order, after `after_id` and up to `up_to_id` (both optional)."""
    ids = {**({"$gt": after_id} if after_id is not None else {}), **({"$lte": up_to_id} if up_to_id is not None else {})}
    query = {**UNSENT, "_id": ids} if ids else dict(UNSENT)
    return await outbox.find(query).sort("_id", 1).limit(limit).to_list()


async def highest_id(outbox: AsyncCollection) -> str | None:
    """The highest _id in the outbox (sent or not), None when it is empty."""
    rows = await outbox.find({}, {"_id": 1}).sort("_id", -1).limit(1).to_list()
    return rows[0]["_id"] if rows else None


async def unsent_pages(outbox: AsyncCollection, page_size: int, *, up_to_id: str | None) -> AsyncIterator[list[dict]]:
    """Every row up to `up_to_id` unsent when its page is read, page by page in _id order.

    Paging on _id (not re-reading `sent: False` from the start) keeps each page's cost to
    its own rows even while the rows already handed out are still unmarked. A row that
    commits behind the pages already read is not returned: the caller's change stream,
    opened before the scan, delivers it.

    `up_to_id`: the highest _id when the change stream had opened (`highest_id`), None for
    an empty outbox (nothing to scan). Rows above it committed after the stream opened, so
    the stream delivers them, in commit order. Scanning them too could break a key's order:
    a row committing behind the pages already read comes only through the stream, after
    the scan, so a later row of its key that the scan found would be published first.
    A key's rows are written by transactions that conflict on its aggregate's document and
    build their ids at the end (writer.py), so a later row's id is built after the earlier
    row committed, i.e. after the mark was read when that commit came during the scan, and
    lies above the mark. That assumes the writers' clocks agree: ids are time-ordered, and
    a replica whose clock lags can build an id below the mark later (a narrow window left).
    """
    if up_to_id is None:
        return
    after_id = None
    while rows := await unsent_batch(outbox, page_size, after_id=after_id, up_to_id=up_to_id):
        yield rows
        after_id = rows[-1]["_id"]
