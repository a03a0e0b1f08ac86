"""Which failures are worth waiting out and which send a record to the DLQ."""
from __future__ import annotations

import asyncio

from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError

_TRANSIENT_LABELS = ("TransientTransactionError", "UnknownTransactionCommitResult")


def is_transient(error: BaseException) -> bool:
    """True for infrastructure hiccups (retry the same record); False for the record's own fault."""
    if isinstance(error, (ConnectionFailure, asyncio.TimeoutError, ConnectionError)):
        return True
    if isinstance(error, OperationFailure) and any(error.has_error_label(label) for label in _TRANSIENT_LABELS):
        return True
    # Other database errors (e.g. a write conflict that outlived pymongo's own retries)
    # are about the store, not the record: retry rather than dead-letter a good event.
    return isinstance(error, PyMongoError) and not isinstance(error, OperationFailure)
