"""The registry's lists, a page at a time: tenants, credentials, revenue reports.

Each page is one indexed range read (two for revenue reports), resumed after the cursor of
the page before: ids for tenants and credentials, a (period, version) position for reports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from parkos.errors import InvalidArgument
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from services.tenants import documents
from services.tenants.collection_names import (
    CREDENTIALS_COLLECTION,
    REVENUE_COLLECTION,
    TENANTS_COLLECTION,
)
from services.tenants.credentials import Credential
from services.tenants.domain import Tenant, TenantStatus
from services.tenants.revenue import ListingPosition, Period, RevenueReport


@dataclass(frozen=True)
class TenantQuery:
    """Filters of ListTenants; empty values do not filter."""

    sub_park_id: str = ""
    sector_id: str = ""
    status: TenantStatus | None = None
    name_prefix: str = ""
    # Set for a tenant principal: it only ever sees itself.
    tenant_id: str = ""


@dataclass(frozen=True)
class CredentialQuery:
    tenant_id: str = ""
    role: str = ""
    include_revoked: bool = False


@dataclass(frozen=True)
class RevenueQuery:
    tenant_id: str
    period: Period | None = None
    include_superseded: bool = False


class RegistryLists:
    """The list reads of the tenants database (``db``)."""

    db: AsyncDatabase

    async def list_tenants(self, query: TenantQuery, *, after: str | None, limit: int) -> list[Tenant]:
        """Tenants matching ``query`` in registration order, after the cursor ``after``."""
        where: dict[str, Any] = {}
        for field in ("sub_park_id", "sector_id"):
            if getattr(query, field):
                where[field] = getattr(query, field)
        if query.status is not None:
            where["status"] = query.status.value
        if query.name_prefix:
            where["name_fold"] = {"$regex": "^" + re.escape(query.name_prefix.casefold())}
        found = await self._page(TENANTS_COLLECTION, where, query.tenant_id, after, limit)
        return [documents.tenant_from_document(d) for d in found]

    async def list_credentials(self, query: CredentialQuery, *, after: str | None, limit: int) -> list[Credential]:
        where: dict[str, Any] = {}
        if query.tenant_id:
            where["tenant_id"] = query.tenant_id
        if query.role:
            where["role"] = query.role
        if not query.include_revoked:
            where["revoked_at"] = None
        found = await self._page(CREDENTIALS_COLLECTION, where, "", after, limit)
        return [documents.credential_from_document(d) for d in found]

    async def list_revenue(self, query: RevenueQuery, *, after: str | None, limit: int) -> list[RevenueReport]:
        """A page of a tenant's reports by period, then version, after the position ``after``
        (``ListingPosition``); InvalidArgument when ``after`` is not one."""
        where: dict[str, Any] = {"tenant_id": query.tenant_id}
        if query.period is not None:
            where["period"] = str(query.period)
        if not query.include_superseded:
            where["current"] = True
        position = None
        if after is not None:
            position = ListingPosition.parse(after)
            if position is None:  # not a cursor this list wrote (its tokens are signed): fail loudly, not restart
                raise InvalidArgument.for_field("page.page_token", "is not a page of this list; start without a token")
        found = await self._revenue_page(where, position, limit, one_period=query.period is not None,
                                         all_versions=query.include_superseded)
        return [documents.revenue_from_document(d) for d in found]

    async def _revenue_page(self, where: dict[str, Any], after: ListingPosition | None, limit: int, *,
                            one_period: bool, all_versions: bool) -> list[dict[str, Any]]:
        # Two ranges rather than one $or (the park's store plans an $or as a scan): the rest of
        # the period the page stopped in, then the later periods. Listing current reports only,
        # a period has one, so its rest is empty.
        reports, in_order = self.db[REVENUE_COLLECTION], [("period", ASCENDING), ("version", ASCENDING)]
        if after is None:
            return await reports.find(where).sort(in_order).limit(limit).to_list()
        found: list[dict[str, Any]] = []
        if all_versions:
            rest_of_period = {**where, "period": after.period, "version": {"$gt": after.version}}
            if not one_period or where["period"] == after.period:
                found = await reports.find(rest_of_period).sort(in_order).limit(limit).to_list()
        if len(found) < limit and not one_period:
            later = {**where, "period": {"$gt": after.period}}
            found += await reports.find(later).sort(in_order).limit(limit - len(found)).to_list()
        return found

    async def _page(
        self, collection: str, where: dict[str, Any], only_id: str, after: str | None, limit: int
    ) -> list[dict[str, Any]]:
        id_filter: dict[str, Any] = {}
        if only_id:
            id_filter["$eq"] = only_id
        if after:
            id_filter["$gt"] = after
        if id_filter:
            where = {**where, "_id": id_filter}
        return await self.db[collection].find(where).sort("_id", ASCENDING).limit(limit).to_list()
