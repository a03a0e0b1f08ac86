"""The tenants service's MongoDB repository: documents, indexes, transactions, outbox.

Every change runs through ``TenantsStore.transaction``: the work function reads and writes
through a ``Transaction`` and records the domain events it caused; the events become
outbox rows in the same MongoDB transaction (snapshot reads, majority commit), so a
change and its events are committed together or not at all. pymongo may run the work
function again after a transient error, so it must only compute from what it reads.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

from parkos.errors import Aborted, AlreadyExists, NotFound
from parkos.events.topics import TENANTS
from parkos.mongo import run_in_transaction
from parkos.outbox import append_to_outbox, ensure_outbox_indexes
from pymongo import ASCENDING, AsyncMongoClient, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from services.tenants import documents
from services.tenants.collection_names import (
    CREDENTIALS_COLLECTION,
    REVENUE_COLLECTION,
    SECTORS_COLLECTION,
    SUB_PARKS_COLLECTION,
    TENANTS_COLLECTION,
)
from services.tenants.credentials import Credential
from services.tenants.domain import ReferenceData, Sector, SubPark, Tenant
from services.tenants.lists import RegistryLists
from services.tenants.mapping import DomainEvent, event_envelope
from services.tenants.revenue import Period, RevenueReport
from services.tenants.tenant_cache import TenantCache

T = TypeVar("T")



class Transaction:
    """Reads and writes of one MongoDB transaction, plus the events it will publish."""

    def __init__(self, db: Any, session: AsyncClientSession) -> None:
        self._db = db
        self._session = session
        self.events: list[DomainEvent] = []
        self.written_tenants: list[Tenant] = []

    def record(self, *events: DomainEvent | None) -> None:
        """Publish these events if the transaction commits (None entries are skipped)."""
        self.events.extend(event for event in events if event is not None)

    async def tenant(self, tenant_id: str) -> Tenant:
        """The tenant, read in this transaction; NotFound when there is none."""
        document = await self._db[TENANTS_COLLECTION].find_one({"_id": tenant_id}, session=self._session)
        if document is None:
            raise NotFound("tenant not found")
        return documents.tenant_from_document(document)

    async def hold_tenant(self, tenant: Tenant) -> None:
        """Write the tenant's document (a counter nothing reads), so that a concurrent change of the
        tenant conflicts with this transaction instead of both committing.

        Snapshot isolation checks writes against writes only: a transaction that issues a
        credential or files revenue after reading the tenant active, next to one suspending or
        offboarding it, would otherwise both commit (an offboarded tenant with a live token).
        With this write one of them fails with a write conflict and is run again, and then
        reads the other's outcome.
        """
        result = await self._db[TENANTS_COLLECTION].update_one(
            {"_id": tenant.tenant_id, "version": tenant.version}, {"$inc": {"held_by_writes": 1}},
            session=self._session,
        )
        if result.matched_count != 1:
            raise Aborted("the tenant changed concurrently; retry")

    async def add_tenant(self, tenant: Tenant) -> None:
        await self._db[TENANTS_COLLECTION].insert_one(documents.tenant_document(tenant), session=self._session)
        self.written_tenants.append(tenant)

    async def save_tenant(self, tenant: Tenant) -> None:
        """Replace the tenant, which must still be at the version before this change."""
        result = await self._db[TENANTS_COLLECTION].replace_one(
            {"_id": tenant.tenant_id, "version": tenant.version - 1},
            documents.tenant_document(tenant),
            session=self._session,
        )
        if result.matched_count != 1:
            raise Aborted("the tenant changed concurrently; retry")
        self.written_tenants.append(tenant)

    async def credential(self, credential_id: str) -> Credential:
        document = await self._db[CREDENTIALS_COLLECTION].find_one({"_id": credential_id}, session=self._session)
        if document is None:
            raise NotFound("credential not found")
        return documents.credential_from_document(document)

    async def active_credentials_of(self, tenant_id: str) -> list[Credential]:
        """The tenant's credentials that are not revoked (expired ones included)."""
        cursor = self._db[CREDENTIALS_COLLECTION].find(
            {"tenant_id": tenant_id, "revoked_at": None}, session=self._session
        )
        return [documents.credential_from_document(document) async for document in cursor]

    async def add_credential(self, credential: Credential) -> None:
        await self._db[CREDENTIALS_COLLECTION].insert_one(
            documents.credential_document(credential), session=self._session
        )

    async def save_credentials(self, credentials: Iterable[Credential]) -> None:
        operations = [
            UpdateOne({"_id": c.credential_id}, {"$set": documents.credential_document(c)}) for c in credentials
        ]
        if operations:
            await self._db[CREDENTIALS_COLLECTION].bulk_write(operations, session=self._session)

    async def current_revenue(self, tenant_id: str, period: Period) -> RevenueReport | None:
        """The newest version of the tenant's report for ``period``, if any."""
        document = await self._db[REVENUE_COLLECTION].find_one(
            {"tenant_id": tenant_id, "period": str(period), "current": True}, session=self._session
        )
        return documents.revenue_from_document(document) if document else None

    async def sub_park(self, sub_park_id: str) -> SubPark:
        """The sub-park, read in this transaction; NotFound when there is none."""
        document = await self._db[SUB_PARKS_COLLECTION].find_one({"_id": sub_park_id}, session=self._session)
        if document is None:
            raise NotFound("sub-park not found")
        return documents.sub_park_from_document(document)

    async def save_sub_park(self, sub_park: SubPark) -> None:
        """Store the sub-park's changed fields (its place in the seeded order stays)."""
        document = {**documents.sub_park_document(sub_park, position=0), "published": True}
        document.pop("position")
        await self._db[SUB_PARKS_COLLECTION].update_one({"_id": sub_park.sub_park_id}, {"$set": document},
                                                        session=self._session)

    async def add_missing_sub_parks(self, sub_parks: Iterable[SubPark]) -> list[SubPark]:
        """Insert the sub-parks not stored yet (at their place in ``sub_parks``); returns those inserted."""
        sub_parks = list(sub_parks)
        return await self._add_missing(SUB_PARKS_COLLECTION, sub_parks, [s.sub_park_id for s in sub_parks],
                                       documents.sub_park_document)

    async def add_missing_sectors(self, sectors: Iterable[Sector]) -> list[Sector]:
        """Insert the sectors not stored yet (at their place in ``sectors``); returns those inserted."""
        sectors = list(sectors)
        return await self._add_missing(SECTORS_COLLECTION, sectors, [s.sector_id for s in sectors],
                                       documents.sector_document)

    async def publish_unpublished_sub_parks(self) -> list[SubPark]:
        """Sub-parks stored before they were published (databases seeded by older versions), now marked."""
        found = await self._mark_unpublished(SUB_PARKS_COLLECTION)
        return [documents.sub_park_from_document(document) for document in found]

    async def publish_unpublished_sectors(self) -> list[Sector]:
        """Sectors stored before they were published (databases seeded by older versions), now marked."""
        return [documents.sector_from_document(document) for document in await self._mark_unpublished(SECTORS_COLLECTION)]

    async def _add_missing(self, collection_name: str, items: list, ids: list[str],
                           document_of: Callable[[Any, int], dict[str, Any]]) -> list:
        collection = self._db[collection_name]
        cursor = collection.find({"_id": {"$in": ids}}, {"_id": 1}, session=self._session)
        stored = {document["_id"] async for document in cursor}
        missing = [(position, item) for position, (item, item_id) in enumerate(zip(items, ids)) if item_id not in stored]
        if missing:
            await collection.insert_many([{**document_of(item, position), "published": True} for position, item in missing],
                                         session=self._session)
        return [item for _, item in missing]

    async def _mark_unpublished(self, collection_name: str) -> list[dict[str, Any]]:
        collection = self._db[collection_name]
        found = await collection.find({"published": {"$ne": True}}, session=self._session).sort("position", ASCENDING).to_list()
        if found:
            await collection.update_many({"_id": {"$in": [d["_id"] for d in found]}}, {"$set": {"published": True}},
                                         session=self._session)
        return found

    async def add_revenue(self, report: RevenueReport) -> None:
        """Store ``report`` as the current version of its period, superseding the previous one."""
        reports = self._db[REVENUE_COLLECTION]
        await reports.update_many(
            {"tenant_id": report.tenant_id, "period": str(report.period), "current": True},
            {"$set": {"current": False}},
            session=self._session,
        )
        await reports.insert_one(documents.revenue_document(report), session=self._session)


class TenantsStore(RegistryLists):
    """The tenants database: reference data, tenants, credentials, revenue reports, outbox."""

    def __init__(
        self,
        client: AsyncMongoClient,
        database: str,
        *,
        topic: str = TENANTS.name,
        on_commit: Callable[[], None] = lambda: None,
        cache: TenantCache | None = None,
        reference_seconds: float = 30.0,
    ) -> None:
        self._client = client
        self.db = client[database]
        self._topic = topic
        self._on_commit = on_commit
        self.cache = cache if cache is not None else TenantCache(ttl=0)
        # Reference data is re-read every ``reference_seconds`` rather than on every
        # registration and listing; a trade-fee change made through the API is forgotten at
        # once here, and on the other replicas when its SubParkDefined reaches them.
        self._reference_seconds = reference_seconds
        self._reference: tuple[float, ReferenceData] | None = None

    async def ensure_indexes(self) -> None:
        """Create the indexes the queries below rely on (idempotent)."""
        tenants = self.db[TENANTS_COLLECTION]
        await tenants.create_index("credit_code", unique=True, name="credit_code_unique")
        for field in ("sub_park_id", "sector_id", "status", "name_fold"):
            await tenants.create_index([(field, ASCENDING), ("_id", ASCENDING)], name=f"{field}_then_id")
        credentials = self.db[CREDENTIALS_COLLECTION]
        await credentials.create_index([("tenant_id", ASCENDING), ("_id", ASCENDING)], name="tenant_then_id")
        await credentials.create_index([("revoked_at", ASCENDING), ("expires_at", ASCENDING)], name="revoked")
        await self.db[REVENUE_COLLECTION].create_index(
            [("tenant_id", ASCENDING), ("period", ASCENDING), ("version", ASCENDING)],
            unique=True,
            name="one_version_per_period",
        )
        await ensure_outbox_indexes(self.db)

    async def ping(self) -> bool:
        """Readiness: the database answers."""
        await self.db.command("ping")
        return True

    async def transaction(self, work: Callable[[Transaction], Awaitable[T]], *, correlation_id: str | None) -> T:
        """Run ``work`` in one transaction and publish its recorded events through the outbox."""
        last: Transaction | None = None

        async def attempt(session: AsyncClientSession) -> T:
            nonlocal last
            last = tx = Transaction(self.db, session)
            result = await work(tx)
            envelopes = [event_envelope(event, correlation_id=correlation_id) for event in tx.events]
            await append_to_outbox(self.db, session, self._topic, envelopes)
            return result

        try:
            result = await run_in_transaction(self._client, attempt)
        except DuplicateKeyError as error:
            raise _duplicate(error) from None
        assert last is not None
        for tenant in last.written_tenants:  # the attempt that committed
            self.cache.put(tenant, read=True)  # its writer is about to read it: keep it warm
        if last.events:
            self._on_commit()
        return result

    async def seed_reference_data(self, reference: ReferenceData, *, now: datetime) -> ReferenceData:
        """Insert the sub-parks and sectors that do not exist yet; returns what is stored.

        Each sub-park inserted is published (SubParkDefined, in the same transaction), so the
        trades service learns its trade-fee rate, and each sector (SectorDefined), so it knows
        the sectors products are filed under; those already stored are left alone, except that
        one stored by a version that did not publish it yet is published once.
        """

        async def seed(tx: Transaction) -> None:
            for sub_park in await tx.add_missing_sub_parks(reference.sub_parks):
                tx.record(sub_park.defined(actor="", now=now))
            for sub_park in await tx.publish_unpublished_sub_parks():
                tx.record(sub_park.defined(actor="", now=now))
            for sector in [*await tx.add_missing_sectors(reference.sectors), *await tx.publish_unpublished_sectors()]:
                tx.record(sector.defined(now=now))

        await self.transaction(seed, correlation_id=None)
        self.forget_reference_data()
        return await self.reference_data()

    def forget_reference_data(self) -> None:
        """Read the reference data again on next use (after a change on this replica)."""
        self._reference = None

    async def reference_data(self) -> ReferenceData:
        """The sub-parks and sectors as stored, in their seeded order (at most ``reference_seconds`` old)."""
        now = time.monotonic()
        if self._reference is not None and now - self._reference[0] < self._reference_seconds:
            return self._reference[1]
        reference = await self._read_reference_data()
        self._reference = (now, reference)
        return reference

    async def _read_reference_data(self) -> ReferenceData:
        sub_parks = await self.db[SUB_PARKS_COLLECTION].find().sort("position", ASCENDING).to_list()
        sectors = await self.db[SECTORS_COLLECTION].find().sort("position", ASCENDING).to_list()
        return ReferenceData(
            [documents.sub_park_from_document(d) for d in sub_parks],
            [documents.sector_from_document(d) for d in sectors],
        )

    async def tenant(self, tenant_id: str) -> Tenant | None:
        """The tenant, from the cache when it is fresh there (see tenant_cache.py)."""
        cached = self.cache.get(tenant_id)
        if cached is not None:
            return cached
        read_at = self.cache.now()  # the tenant is current as of the read's start, not its end
        document = await self.db[TENANTS_COLLECTION].find_one({"_id": tenant_id})
        if document is None:
            return None
        tenant = documents.tenant_from_document(document)
        self.cache.put(tenant, fresh_at=read_at, read=True)
        return tenant

    async def tenant_versions(self, tenant_ids: list[str]) -> dict[str, int]:
        """Tenant id -> stored version, for the stored tenants among ``tenant_ids`` (the cache's refresher)."""
        found = await self.db[TENANTS_COLLECTION].find({"_id": {"$in": tenant_ids}}, {"version": 1}).to_list()
        return {document["_id"]: document["version"] for document in found}

    async def tenants_by_id(self, tenant_ids: list[str]) -> list[Tenant]:
        """The stored tenants among ``tenant_ids``, in no particular order."""
        found = await self.db[TENANTS_COLLECTION].find({"_id": {"$in": tenant_ids}}).to_list()
        return [documents.tenant_from_document(document) for document in found]

    async def revoked_credentials(self, now: datetime) -> list[Credential]:
        """Revoked credentials whose tokens have not expired yet (to seed a RevocationList)."""
        cursor = self.db[CREDENTIALS_COLLECTION].find({"revoked_at": {"$ne": None}, "expires_at": {"$gt": now}})
        return [documents.credential_from_document(document) async for document in cursor]



def _duplicate(error: DuplicateKeyError) -> Exception:
    """A unique-index violation in the park's words."""
    key = (error.details or {}).get("keyValue") or (error.details or {}).get("keyPattern") or {}
    if "credit_code" in key or "credit_code" in str(error):
        return AlreadyExists("a tenant with this credit code is already registered")
    if "version" in key or "one_version_per_period" in str(error):
        return Aborted("another report for this period was filed at the same time; retry")
    return AlreadyExists("already exists")
