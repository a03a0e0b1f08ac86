"""Finding unsent rows without a stream position: by the `sent` flag, in _id order.

Used when the relay has no position it can resume from (first start, or the oplog no
longer reaches back to it) and by `OutboxRelay.drain_once`. It is the slow way
(SecantusDB: an indexed, sorted find costs ~350 us of server time per row), and it
re-sends rows already published but not yet marked, which the outbox allows.
"""
from __future__ import annotations

from collections.abc import AsyncIterator

from pymongo.asynchronous.collection import AsyncCollection

UNSENT = {"sent": False}


async def unsent_batch(outbox: AsyncCollection, limit: int, *, after_id: str | None = None) -> list[dict]:
    """Up to `limit` unsent rows in _id order, starting after `after_id`."""
    query = dict(UNSENT) if after_id is None else {**UNSENT, "_id": {"$gt": after_id}}
    return await outbox.find(query).sort("_id", 1).limit(limit).to_list()


async def unsent_pages(outbox: AsyncCollection, page_size: int) -> AsyncIterator[list[dict]]:
    """Every row unsent when its page is read, page by page in _id order.

    Paging on _id (not re-reading `sent: False` from the start) keeps each page's cost to
    its own rows even while the rows already handed out are still unmarked. A row that
    commits behind the pages already read is not returned: the caller's change stream,
    opened before the scan, delivers it.
    """
    after_id = None
    while rows := await unsent_batch(outbox, page_size, after_id=after_id):
        yield rows
        after_id = rows[-1]["_id"]
