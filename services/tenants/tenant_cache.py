"""Recently read tenants, served from memory for a few seconds.

GetTenant is the park's hottest read (every service resolves tenants), and one database
round trip costs far more than the rest of the call. The cache keeps each tenant for at
most ``ttl`` seconds and is kept current by the service itself:

- this replica's own writes replace the entry as soon as they commit (read-your-writes);
- other replicas' writes arrive as tenant events on park.tenants.v1, which carry the whole
  tenant, within the outbox relay's latency;
- whatever the event stream does, an entry is served only while it was known current at
  most ``ttl`` seconds ago (the start of the database read that fetched it, or the
  commit or event that put it), so a replica is never more than ``ttl`` seconds behind
  even while Kafka is down.

Tenants read recently are kept warm by a ``TenantCacheRefresher``: before an entry that
callers still read reaches the ttl, its stored version is read again in the background,
in batches (the whole tenant only when the version moved), so a hot tenant's GetTenant
never waits on the database. An entry's expiry runs from when it was fetched, not from
when it was last read: without the refresher, a park of 1,000 tenants read at random a
few hundred times a second sent between a fifth and a half of its GetTenant calls to the
database, and their latency made the tail.

An entry is only ever replaced by the same or a newer version, so a slow database read
cannot overwrite a newer event. Authorization never depends on cached data.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping

from parkos.logging import get_logger

from services.tenants.domain import Tenant

log = get_logger(__name__)


class _Entry:
    __slots__ = ("tenant", "fresh_at", "touched_at", "read_at")

    def __init__(self, tenant: Tenant, fresh_at: float, touched_at: float, read_at: float | None) -> None:
        self.tenant = tenant
        self.fresh_at = fresh_at  # when the tenant was known to be current
        self.touched_at = touched_at  # when the entry last moved to the end of the order
        self.read_at = read_at  # when a caller last read it (None: never)


class TenantCache:
    """A bounded, time-limited map of tenant id -> newest known tenant."""

    def __init__(self, *, ttl: float = 5.0, max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        if ttl < 0 or max_entries < 1:
            raise ValueError("ttl must be >= 0 and max_entries >= 1")
        self._ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        # Ordered by last touch (a read or a put), oldest first: the order evicts, and lets
        # the refresher stop at the first entry nobody touched lately.
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self._ttl > 0

    @property
    def ttl(self) -> float:
        return self._ttl

    def now(self) -> float:
        """The cache's clock: stamp a database read with it before the read starts."""
        return self._clock()

    def get(self, tenant_id: str) -> Tenant | None:
        """The cached tenant, or None when absent or older than the ttl."""
        now = self._clock()
        with self._lock:
            entry = self._entries.get(tenant_id)
            if entry is None or now - entry.fresh_at > self._ttl:
                self.misses += 1
                return None
            self._entries.move_to_end(tenant_id)
            entry.touched_at = entry.read_at = now
            self.hits += 1
            return entry.tenant

    def put(self, tenant: Tenant, *, fresh_at: float | None = None, read: bool = False) -> None:
        """Remember ``tenant`` unless a newer version is already known.

        ``fresh_at``: when the tenant was known current (default: now); a database read
        passes the time it started. ``read``: a caller reads it, or this replica wrote it
        (keep it warm).
        """
        if not self.enabled:
            return
        now = self._clock()
        fresh_at = now if fresh_at is None else min(fresh_at, now)
        with self._lock:
            entry = self._entries.get(tenant.tenant_id)
            if entry is not None and entry.tenant.version > tenant.version:
                return
            read_at = now if read else (entry.read_at if entry is not None else None)
            if entry is not None and entry.tenant.version == tenant.version:
                fresh_at = max(fresh_at, entry.fresh_at)
            self._entries[tenant.tenant_id] = _Entry(tenant, fresh_at, now, read_at)
            self._entries.move_to_end(tenant.tenant_id)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def due_for_refresh(self, *, older_than: float, read_within: float, limit: int) -> list[str]:
        """Ids of entries read in the last ``read_within`` s that were fetched ``older_than`` s ago or more."""
        now = self._clock()
        due: list[str] = []
        with self._lock:
            for tenant_id in reversed(self._entries):  # most recently touched first
                entry = self._entries[tenant_id]
                if now - entry.touched_at > read_within:
                    break  # every entry before it was touched even earlier
                if entry.read_at is not None and now - entry.read_at <= read_within and now - entry.fresh_at >= older_than:
                    due.append(tenant_id)
                    if len(due) >= limit:
                        break
        return due

    def confirm(self, versions: Mapping[str, int | None], *, fresh_at: float) -> list[str]:
        """What a background read of stored versions (started at ``fresh_at``) found.

        ``versions`` maps each id asked for to its stored version (None: not stored). An
        entry whose version is stored is current as of ``fresh_at``; an entry no longer
        stored is dropped, so the next GetTenant asks the database. Entries keep their
        place in the order (a refresh is not a use). Returns the ids whose stored version
        is newer than the cached one: read them whole and ``put`` them.
        """
        changed: list[str] = []
        with self._lock:
            for tenant_id, version in versions.items():
                entry = self._entries.get(tenant_id)
                if entry is None:
                    continue  # evicted meanwhile: it comes back on its next read
                if version is None:
                    del self._entries[tenant_id]
                elif version == entry.tenant.version:
                    entry.fresh_at = max(entry.fresh_at, fresh_at)
                elif version > entry.tenant.version:
                    changed.append(tenant_id)
        return changed

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


_MIN_INTERVAL = 0.05  # seconds between rounds, however short the ttl

VersionReader = Callable[[list[str]], Awaitable[Mapping[str, int]]]
TenantsReader = Callable[[list[str]], Awaitable[list[Tenant]]]


class TenantCacheRefresher:
    """Confirms, in the background, the cached tenants callers keep reading, before they expire.

    Every ``ttl / 4`` seconds, entries read within ``read_within`` seconds and fetched at
    least ``ttl / 2`` ago are looked at again, ``batch`` ids per query: only their stored
    versions are read (every change of a tenant raises its version), and only the tenants
    whose version moved are read whole. Batches are small and read one after the other:
    the store's cost of an ``$in`` grows faster than its length (on SecantusDB 25 ids took
    2 ms, 100 took 50 ms and 500 took half a second, which slowed every other caller). They stay fresh while the database answers within
    a quarter of the ttl; when it does not (slow, down), entries simply expire and
    GetTenant reads the database itself, as without a refresher.
    """

    def __init__(
        self, cache: TenantCache, versions: VersionReader, tenants: TenantsReader, *,
        read_within: float = 60.0, batch: int = 25, max_per_round: int = 5_000,
    ) -> None:
        self._cache = cache
        self._versions = versions
        self._tenants = tenants
        self._read_within = read_within
        self._batch = batch
        self._max_per_round = max_per_round
        self._task: asyncio.Task[None] | None = None
        self.confirmed = 0
        self.reread = 0

    async def start(self) -> None:
        """Start refreshing in the background (nothing when the cache is off)."""
        if self._cache.enabled and self._task is None:
            self._task = asyncio.create_task(self._run(), name="tenant-cache-refresher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def refresh_once(self) -> int:
        """One round: confirm every entry due; returns how many were due."""
        ttl = self._cache.ttl
        due = self._cache.due_for_refresh(older_than=ttl / 2, read_within=self._read_within, limit=self._max_per_round)
        for start in range(0, len(due), self._batch):
            ids = due[start:start + self._batch]
            fresh_at = self._cache.now()
            stored = await self._versions(ids)
            changed = self._cache.confirm({tenant_id: stored.get(tenant_id) for tenant_id in ids}, fresh_at=fresh_at)
            if changed:
                fresh_at = self._cache.now()
                for tenant in await self._tenants(changed):
                    self._cache.put(tenant, fresh_at=fresh_at)
                self.reread += len(changed)
        self.confirmed += len(due)
        return len(due)

    async def _run(self) -> None:
        interval = max(self._cache.ttl / 4, _MIN_INTERVAL)
        while True:
            await asyncio.sleep(interval)
            try:
                # Bounded, so a hung database cannot hold back the next round for long.
                async with asyncio.timeout(self._cache.ttl):
                    await self.refresh_once()
            except Exception as error:  # noqa: BLE001 - entries just expire; GetTenant reads itself
                log.warning("tenant cache refresh failed", error=repr(error))
