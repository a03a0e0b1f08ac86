"""Reactions to the tenants service's events: trades' own directory of tenants and fee rates.

The inbox consumer (parkos.inbox) applies each park.tenants.v1 event once, inside a
transaction that also records its event_id; the handlers below run in that transaction:

- TenantRegistered / TenantProfileUpdated / TenantStatusChanged carry the whole tenant:
  keep its status, sub-park and sector, unless a newer version is already kept;
- SubParkDefined carries a sub-park's current trade-fee rate;
- SectorDefined a sector products may be filed under.

From the moment a TenantStatusChanged to SUSPENDED is applied, the tenant can neither buy
nor sell: the order path reads the directory inside its own transaction. Other event
types on the topic (credentials, revenue) are skipped; an event that cannot be applied
(e.g. a status this service does not know) goes to the DLQ.
"""

from __future__ import annotations

from functools import partial

from park.events.v1.envelope_pb2 import Envelope
from park.tenants.v1 import events_pb2, tenants_pb2
from parkos.inbox import EventHandlers, PermanentEventError
from pymongo.asynchronous.client_session import AsyncClientSession

from services.trades.store import TradesStore
from services.trades.tenant_directory import FeeRate, KnownTenant, TenantStatus

_STATUS = {
    tenants_pb2.TENANT_STATUS_PENDING: TenantStatus.PENDING,
    tenants_pb2.TENANT_STATUS_ACTIVE: TenantStatus.ACTIVE,
    tenants_pb2.TENANT_STATUS_SUSPENDED: TenantStatus.SUSPENDED,
    tenants_pb2.TENANT_STATUS_OFFBOARDED: TenantStatus.OFFBOARDED,
}
TenantSnapshot = events_pb2.TenantRegistered | events_pb2.TenantProfileUpdated | events_pb2.TenantStatusChanged


def known_tenant_from_proto(tenant: tenants_pb2.Tenant) -> KnownTenant:
    """The part of a tenant trades keeps; PermanentEventError when the event cannot be used."""
    status = _STATUS.get(tenant.status)
    if not tenant.tenant_id or status is None or not tenant.sub_park_id:
        raise PermanentEventError(f"tenant event without a usable tenant (status {tenant.status})")
    return KnownTenant(tenant.tenant_id, status, tenant.sub_park_id, tenant.sector_id, tenant.version)


def fee_rate_from_proto(sub_park: tenants_pb2.SubPark) -> FeeRate:
    try:
        return FeeRate(sub_park.sub_park_id, sub_park.trade_fee_bps)
    except ValueError as error:
        raise PermanentEventError(str(error)) from None


async def record_tenant(store: TradesStore, event: TenantSnapshot, envelope: Envelope, session: AsyncClientSession) -> None:
    """Keep the tenant the event carries (unless a newer version is kept), and its products in the
    catalog only while it may sell."""
    tenant, directory = known_tenant_from_proto(event.tenant), store.directory_writer(session)
    if await directory.put_tenant(tenant):
        await directory.keep_products_in_step(tenant)


async def record_fee_rate(
    store: TradesStore, event: events_pb2.SubParkDefined, envelope: Envelope, session: AsyncClientSession
) -> None:
    """Keep the sub-park's current trade-fee rate."""
    if not event.sub_park.sub_park_id:
        raise PermanentEventError("SubParkDefined without a sub-park id")
    await store.directory_writer(session).put_fee_rate(fee_rate_from_proto(event.sub_park))


async def record_sector(
    store: TradesStore, event: events_pb2.SectorDefined, envelope: Envelope, session: AsyncClientSession
) -> None:
    """Keep a sector the park defined."""
    if not event.sector.sector_id:
        raise PermanentEventError("SectorDefined without a sector id")
    await store.directory_writer(session).put_sector(event.sector.sector_id, event.sector.name)


def tenant_event_handlers(store: TradesStore) -> EventHandlers:
    """The handlers of park.tenants.v1 events, bound to ``store``."""
    handlers = EventHandlers()
    for snapshot in (events_pb2.TenantRegistered, events_pb2.TenantProfileUpdated, events_pb2.TenantStatusChanged):
        handlers.register(snapshot, partial(record_tenant, store))
    handlers.register(events_pb2.SectorDefined, partial(record_sector, store))
    return handlers.register(events_pb2.SubParkDefined, partial(record_fee_rate, store))
