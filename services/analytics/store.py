"""The API process's store: an in-memory materialized view of every tenant's ledger.

The workers' tables are partitioned: with two workers, each holds half of the tenants. The
API process must answer for all of them, so it does not ask the workers: it follows the
``tenant-ledgers`` changelog topic itself, every partition from the first record, with a
group-less consumer (``LedgerFollower``), and keeps the newest ledger of every tenant
(``ParkView``). A ledger record carries all of a tenant's figures, so applying one is a
replace, never an increment: reading the changelog twice, or a record twice, changes
nothing. Of two records of a tenant the higher guard (``applied_offset``) wins, so a late
write of a worker that lost its partitions cannot roll a tenant back.

Park-, sub-park- and sector-wide all-time figures are maintained incrementally (old
contribution out, new one in) so that every change can be pushed to dashboards with
park totals; hour and day figures are summed over the slice's tenants at query time
(about a thousand tenants: well under a millisecond).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict, defaultdict
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from aiokafka import AIOKafkaConsumer, TopicPartition
from parkos.events import MalformedEvent
from parkos.events.follower import reached
from parkos.logging import get_logger

from services.analytics.domain.ledger import TenantLedger
from services.analytics.domain.revenue import Figures, total_figures
from services.analytics.domain.windows import day_start, hour_start
from services.analytics.records import ledger_from_bytes

log = get_logger(__name__)


class Dimension(StrEnum):
    PARK = "park"
    SUB_PARK = "sub_park"
    SECTOR = "sector"
    TENANT = "tenant"


class Window(StrEnum):
    ALL_TIME = "all_time"
    HOUR = "hour"
    DAY = "day"


@dataclass(frozen=True, slots=True)
class SliceFigures:
    """Figures of one slice over one window."""

    figures: Figures
    tenants: int
    window_start: int | None = None  # seconds since the epoch, None for all-time
    window_end: int | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """A tenant's ledger as it is after a change, for subscribers."""

    ledger: TenantLedger
    park: Figures


def _slices(ledger: TenantLedger) -> tuple[tuple[Dimension, str], ...]:
    return (
        (Dimension.PARK, ""),
        (Dimension.SUB_PARK, ledger.sub_park_id),
        (Dimension.SECTOR, ledger.sector_id),
        (Dimension.TENANT, ledger.tenant_id),
    )


class ParkView:
    """Every tenant's newest ledger, slice totals, and subscribers to changes."""

    def __init__(self) -> None:
        self._ledgers: dict[str, TenantLedger] = {}
        # Changelog bytes of ledgers taken without their valuation history (see ``apply``).
        self._raw: dict[str, bytes] = {}
        self._totals: dict[tuple[Dimension, str], Figures] = defaultdict(Figures)
        self._members: dict[tuple[Dimension, str], set[str]] = defaultdict(set)
        self._subscriptions: set[Subscription] = set()
        self.applied = 0
        self.stale = 0

    def __len__(self) -> int:
        return len(self._ledgers)

    def apply(self, ledger: TenantLedger, raw: bytes | None = None) -> bool:
        """Take ``ledger`` as the tenant's newest, unless a higher guard is held; returns whether taken.

        ``raw``: the changelog record ``ledger`` was decoded from without its valuation history
        (the follower's case: only GetTenantMetrics shows the history, so it is decoded from
        ``raw`` when asked for, not for every record).
        """
        old = self._ledgers.get(ledger.tenant_id)
        if old is not None and ledger.applied_offset < old.applied_offset:
            self.stale += 1
            return False
        if old is not None:
            self._leave(old)
        self._ledgers[ledger.tenant_id] = ledger
        if raw is None:
            self._raw.pop(ledger.tenant_id, None)
        else:
            self._raw[ledger.tenant_id] = raw
        self._join(ledger)
        self.applied += 1
        if self._subscriptions:
            change = Change(ledger, self._totals[(Dimension.PARK, "")])
            for subscription in self._subscriptions:
                subscription.offer(change)
        return True

    def _leave(self, ledger: TenantLedger) -> None:
        figures = ledger.figures()
        for slice_key in _slices(ledger):
            self._totals[slice_key] = self._totals[slice_key].minus(figures)
            self._members[slice_key].discard(ledger.tenant_id)

    def _join(self, ledger: TenantLedger) -> None:
        figures = ledger.figures()
        for slice_key in _slices(ledger):
            self._totals[slice_key] = self._totals[slice_key].plus(figures)
            self._members[slice_key].add(ledger.tenant_id)

    def ledger(self, tenant_id: str) -> TenantLedger | None:
        """The tenant's newest ledger, valuation history included."""
        raw = self._raw.get(tenant_id)
        return ledger_from_bytes(raw) if raw is not None else self._ledgers.get(tenant_id)

    def ledgers(self) -> Iterable[TenantLedger]:
        """Every tenant's newest ledger, valuation history included."""
        return [self.ledger(tenant_id) for tenant_id in list(self._ledgers)]  # type: ignore[misc]

    def park_figures(self) -> Figures:
        return self._totals[(Dimension.PARK, "")]

    def figures(self, dimension: Dimension, key: str, window: Window, at_ms: int) -> SliceFigures | None:
        """Figures of the slice over the window containing ``at_ms``; None when the slice has no tenant."""
        slice_key = (dimension, "" if dimension is Dimension.PARK else key)
        members = self._members.get(slice_key)
        if not members:
            return None
        if window is Window.ALL_TIME:
            return SliceFigures(self._totals[slice_key], len(members))
        ledgers = [self._ledgers[tenant_id] for tenant_id in members]
        if window is Window.HOUR:
            start = hour_start(at_ms)
            figures = total_figures(ledger.hour_figures(start) for ledger in ledgers)
            return SliceFigures(figures, len(members), start, start + 3600)
        start = day_start(at_ms)
        figures = total_figures(ledger.day_figures(start) for ledger in ledgers)
        return SliceFigures(figures, len(members), start, start + 86_400)

    def subscribe(self, tenant_ids: frozenset[str] | None) -> Subscription:
        """Changes of ``tenant_ids`` (None: all), starting with a snapshot of their current ledgers."""
        subscription = Subscription(self, tenant_ids)
        park = self.park_figures()
        for ledger in self._ledgers.values():
            subscription.offer(Change(ledger, park), snapshot=True)
        self._subscriptions.add(subscription)
        return subscription

    def close_subscriptions(self) -> None:
        """End every subscriber's stream (the server is stopping)."""
        for subscription in list(self._subscriptions):
            subscription.close()

    def _unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)


class Subscription:
    """One reader's pending changes: the newest change per tenant, in arrival order.

    A change carries absolute figures, so a newer change of a tenant replaces a pending one
    (counted in ``skipped``). Nothing else is ever dropped: a tenant's last state always
    reaches the reader, however slow, and what waits is bounded by the number of tenants
    (one entry each), not by how far the reader is behind.
    """

    def __init__(self, view: ParkView, tenant_ids: frozenset[str] | None) -> None:
        self._view = view
        self._tenant_ids = tenant_ids
        self._pending: OrderedDict[str, tuple[Change, bool]] = OrderedDict()
        self._ready = asyncio.Event()
        self._closed = False
        self.skipped = 0

    def offer(self, change: Change, *, snapshot: bool = False) -> None:
        tenant_id = change.ledger.tenant_id
        if self._tenant_ids is not None and tenant_id not in self._tenant_ids:
            return
        if tenant_id in self._pending:
            self.skipped += 1
            snapshot = snapshot and self._pending[tenant_id][1]
            del self._pending[tenant_id]
        self._pending[tenant_id] = (change, snapshot)
        self._ready.set()

    async def changes(self) -> AsyncIterator[tuple[Change, bool, int]]:
        """``(change, is_snapshot, skipped since the previous one)`` as they come, until closed."""
        while not self._closed:
            if not self._pending:
                self._ready.clear()
                await self._ready.wait()
                continue
            _tenant_id, (change, snapshot) = self._pending.popitem(last=False)
            skipped, self.skipped = self.skipped, 0
            yield change, snapshot, skipped

    def close(self) -> None:
        self._closed = True
        self._ready.set()
        self._view._unsubscribe(self)


class LedgerFollower:
    """Reads the ledger changelog from its first record for as long as the process runs.

    Group-less: every API replica reads every partition itself and commits nothing. Ready
    once it has read, in every partition, up to the end offset it found when it started, so
    a restarted API never answers from a half-built view.
    """

    def __init__(
        self, consumer_factory: Callable[[], AIOKafkaConsumer], topic: str, partitions: int, view: ParkView, *,
        retry_seconds: float = 1.0, stall_seconds: float = 15.0,
    ) -> None:
        self._consumer_factory = consumer_factory
        self._topic = topic
        self._partitions = [TopicPartition(topic, partition) for partition in range(partitions)]
        self._view = view
        self._retry_seconds = retry_seconds
        self._stall_seconds = stall_seconds
        self._task: asyncio.Task[None] | None = None
        self.caught_up = asyncio.Event()
        self.malformed = 0
        self._last_poll = 0.0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ledger-follower")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def ready(self) -> bool:
        """Readiness check: caught up, still running, and polled the broker recently."""
        running = self._task is not None and not self._task.done()
        recent = time.monotonic() - self._last_poll < self._stall_seconds
        return running and recent and self.caught_up.is_set()

    async def _run(self) -> None:
        while True:
            consumer = self._consumer_factory()
            try:
                await consumer.start()
                await self._follow(consumer)
            except Exception as error:  # noqa: BLE001 - keep following whatever happened; readiness shows it
                log.warning("ledger follower retrying", error=repr(error))
                await asyncio.sleep(self._retry_seconds)
            finally:
                with contextlib.suppress(Exception):
                    await consumer.stop()

    async def _follow(self, consumer: AIOKafkaConsumer) -> None:
        partitions = self._partitions
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        target = await consumer.end_offsets(partitions) if not self.caught_up.is_set() else {}
        while True:
            self._last_poll = time.monotonic()
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    self._apply(record.value)
            if target and await reached(consumer, target):
                target = {}
                self.caught_up.set()
                log.info("ledger view caught up", tenants=len(self._view), records=self._view.applied)
            elif not target and not self.caught_up.is_set():
                self.caught_up.set()

    def _apply(self, raw: bytes | None) -> None:
        if raw is None:
            return
        try:
            self._view.apply(ledger_from_bytes(raw, history=False), raw)
        except MalformedEvent as error:
            self.malformed += 1
            log.warning("ledger follower skipped a malformed record", error=str(error))


def open_ledger_consumer(bootstrap: str, *, client_id: str) -> AIOKafkaConsumer:
    """A group-less consumer for the changelog (partitions are assigned by the follower)."""
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_uncommitted",
        # A fetch returns once 64 KiB are there or after 10 ms: under load one fetch brings
        # many records instead of one fetch per record (each costs a request, a response and
        # its decoding in this process); idle, a single record waits at most 10 ms.
        fetch_min_bytes=64 * 1024,
        fetch_max_wait_ms=10,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
