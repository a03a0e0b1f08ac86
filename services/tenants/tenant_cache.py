"""Recently read tenants, served from memory for a few seconds.

GetTenant is the park's hottest read (every service resolves tenants), and one database
round trip costs far more than the rest of the call. The cache keeps each tenant for at
most ``ttl`` seconds and is kept current by the service itself:

- this replica's own writes replace the entry as soon as they commit (read-your-writes);
- other replicas' writes arrive as tenant events on park.tenants.v1, which carry the whole
  tenant, within the outbox relay's latency;
- whatever the event stream does, an entry older than ``ttl`` is read again from MongoDB,
  so a replica is never more than ``ttl`` seconds behind even while Kafka is down.

An entry is only ever replaced by the same or a newer version, so a slow database read
cannot overwrite a newer event. Authorization never depends on cached data.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from services.tenants.domain import Tenant


class TenantCache:
    """A bounded, time-limited map of tenant id -> newest known tenant."""

    def __init__(self, *, ttl: float = 5.0, max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        if ttl < 0 or max_entries < 1:
            raise ValueError("ttl must be >= 0 and max_entries >= 1")
        self._ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, Tenant]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self._ttl > 0

    def get(self, tenant_id: str) -> Tenant | None:
        """The cached tenant, or None when absent or older than the ttl."""
        with self._lock:
            entry = self._entries.get(tenant_id)
            if entry is None or self._clock() - entry[0] > self._ttl:
                self.misses += 1
                return None
            self._entries.move_to_end(tenant_id)
            self.hits += 1
            return entry[1]

    def put(self, tenant: Tenant) -> None:
        """Remember ``tenant`` unless a newer version is already known."""
        if not self.enabled:
            return
        with self._lock:
            entry = self._entries.get(tenant.tenant_id)
            if entry is not None and entry[1].version > tenant.version:
                return
            self._entries[tenant.tenant_id] = (self._clock(), tenant)
            self._entries.move_to_end(tenant.tenant_id)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
