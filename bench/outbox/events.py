"""What every step writes: numbered money events on a fixed set of aggregates, and the
state document a service's transaction would change alongside its outbox row."""
from __future__ import annotations

import itertools
from datetime import UTC, datetime

from park.common.v1.money_pb2 import Money

from parkos.events import build_envelope

PRODUCER = "bench-outbox"


class Events:
    """Money events on `keys` aggregates, numbered in order (the payload carries the number)."""

    def __init__(self, keys: int) -> None:
        self._keys = keys
        self._numbers = itertools.count()

    def next(self) -> tuple[int, str]:
        """The next event number and its aggregate id (the record key)."""
        number = next(self._numbers)
        return number, f"acc_{number % self._keys:06d}"

    @staticmethod
    def envelope(number: int, key: str):
        """The envelope of event `number`, as a service would build it inside its transaction."""
        return build_envelope(Money(amount_minor=number, currency="CNY"), producer=PRODUCER, aggregate_id=key)


def state_doc(number: int, key: str) -> dict:
    """The state change of the transaction: a small account-like document."""
    return {"_id": f"st_{number:012d}", "account": key, "balance_minor": number, "currency": "CNY",
            "updated_at": datetime.now(UTC)}
