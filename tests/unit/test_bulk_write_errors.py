"""How a failed client-level bulk write comes out of `write_together`: as the per-collection
methods raise it, so `with_transaction` retries what is transient."""
from __future__ import annotations

from pymongo.errors import ClientBulkWriteException, DuplicateKeyError, OperationFailure

from parkos.mongo import WRITE_CONFLICT, _unwrapped


def _failed_write(code: int) -> ClientBulkWriteException:
    return ClientBulkWriteException({"writeErrors": [{"idx": 0, "code": code, "errmsg": "failed"}]}, verbose=False)


def test_a_write_conflict_reported_as_the_writes_own_error_is_transient():
    error = _unwrapped(_failed_write(WRITE_CONFLICT))
    assert isinstance(error, OperationFailure) and error.code == WRITE_CONFLICT
    assert error.has_error_label("TransientTransactionError")


def test_a_unique_index_violation_is_a_duplicate_key_and_not_transient():
    error = _unwrapped(_failed_write(11000))
    assert isinstance(error, DuplicateKeyError)
    assert not error.has_error_label("TransientTransactionError")


def test_any_other_failed_write_is_not_retried():
    error = _unwrapped(_failed_write(2))
    assert type(error) is OperationFailure and not error.has_error_label("TransientTransactionError")
