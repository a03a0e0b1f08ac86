"""What every trades call shares: the servicer's collaborators and three steps.

- one store transaction per change, carrying the call's correlation id to its events;
- the idempotent retry of a call that moves money (PlaceOrder, JoinPool): a key already
  used by the buyer returns the order it made first;
- paging of list calls, with tokens bound to the query and the caller.

``ProductCalls``, ``OrderCalls`` and ``PoolCalls`` build on ``TradesCalls``; ``api.py``
puts them together into the servicer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from parkos.auth import Principal
from parkos.clock import Clock, park_clock
from parkos.errors import InvalidArgument, ParkError
from parkos.logging import current_correlation_id
from parkos.page_tokens import PageTokens, page_size

from services.trades.settlement import Order
from services.trades.store import TradesStore, Transaction


@dataclass(frozen=True)
class TradesApiConfig:
    """What the servicer needs besides its collaborators."""

    currency: str = "CNY"


class TradesCalls:
    """The collaborators of every call, and the steps they share."""

    def __init__(
        self, store: TradesStore, *, page_tokens: PageTokens, config: TradesApiConfig = TradesApiConfig(),
        clock: Clock = park_clock,
    ) -> None:
        self._store = store
        self._pages = page_tokens
        self._config = config
        self._clock = clock

    async def _transaction(self, work: Callable[[Transaction], Any]) -> Any:
        return await self._store.transaction(work, correlation_id=current_correlation_id())

    async def _idempotent(
        self, work: Callable[[Transaction], Any], buyer_id: str, key: str, *, product_id: str | None, pool_id: str
    ) -> Order:
        """Run ``work``, unless the buyer's key already made an order: then return that first result.

        A retry finds its key taken (the unique index refuses the second order) or, if the world
        changed since the first call (product delisted, buyer suspended), fails the domain's checks;
        either way the order the key made is what the retry returns.
        """
        try:
            return await self._transaction(work)
        except ParkError:
            first = await self._store.order_by_key(buyer_id, key)
            if first is None:
                raise
            return _same_request(first, product_id=product_id or first.product_id, pool_id=pool_id)

    async def _page(self, principal: Principal, method: str, query: Any, page: Any, fetch: Callable) -> tuple[list, str]:
        """One page of ``fetch(query)`` and the token of the next (empty after the last page)."""
        size = page_size(page.page_size)
        fingerprint = {"method": method, **vars(query)}
        caller = f"{principal.role}:{principal.subject}"
        after = self._pages.decode(page.page_token, query=fingerprint, caller=caller)
        found = await fetch(query, after=after, limit=size + 1)
        if len(found) <= size:
            return found, ""
        found = found[:size]
        return found, self._pages.encode(last_id=_id_of(found[-1]), query=fingerprint, caller=caller)


def _same_request(first: Order, *, product_id: str, pool_id: str) -> Order:
    """The first result of an idempotency key, if the retry asks for the same thing."""
    if first.product_id != product_id or first.pool_id != pool_id:
        raise InvalidArgument.for_field("idempotency_key", "was already used by this buyer for another order")
    return first


def _id_of(item: Any) -> str:
    for attribute in ("order_id", "pool_id", "product_id"):
        if hasattr(item, attribute):
            return getattr(item, attribute)
    raise TypeError(f"no id on {item!r}")
