"""Translation between the domain and park.tenants.v1 messages (API and events).

Nothing here decides anything: it only copies fields, in both directions, and turns each
domain event into the envelope the outbox publishes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from park.events.v1.envelope_pb2 import Envelope
from park.tenants.v1 import events_pb2, tenants_pb2
from parkos.auth.roles import Role
from parkos.events import build_envelope
from parkos.money_proto import money_to_proto

from services.tenants.credentials import Credential, CredentialIssued, CredentialRevoked
from services.tenants.domain import (
    Contact,
    Sector,
    SectorDefined,
    SubPark,
    SubParkDefined,
    Tenant,
    TenantProfileUpdated,
    TenantRegistered,
    TenantStatus,
    TenantStatusChanged,
)
from services.tenants.revenue import RevenueReport, RevenueReported

PRODUCER = "tenants"

STATUS_TO_PROTO = {
    TenantStatus.PENDING: tenants_pb2.TENANT_STATUS_PENDING,
    TenantStatus.ACTIVE: tenants_pb2.TENANT_STATUS_ACTIVE,
    TenantStatus.SUSPENDED: tenants_pb2.TENANT_STATUS_SUSPENDED,
    TenantStatus.OFFBOARDED: tenants_pb2.TENANT_STATUS_OFFBOARDED,
}
STATUS_FROM_PROTO = {value: key for key, value in STATUS_TO_PROTO.items()}
ROLE_TO_PROTO = {
    Role.ADMIN: tenants_pb2.ROLE_ADMIN,
    Role.TENANT: tenants_pb2.ROLE_TENANT,
    Role.BANK: tenants_pb2.ROLE_BANK,
    Role.AGENT: tenants_pb2.ROLE_AGENT,
}
ROLE_FROM_PROTO = {value: key for key, value in ROLE_TO_PROTO.items()}

DomainEvent = (
    TenantRegistered | TenantProfileUpdated | TenantStatusChanged | CredentialIssued | CredentialRevoked | RevenueReported
    | SubParkDefined | SectorDefined
)


def timestamp(moment: datetime) -> Timestamp:
    """A protobuf Timestamp of an aware datetime."""
    stamp = Timestamp()
    stamp.FromDatetime(moment.astimezone(UTC))
    return stamp


def duration_or_none(message: Message, field: str) -> timedelta | None:
    """The Duration in ``field`` of ``message`` as a timedelta, None when unset."""
    if not message.HasField(field):
        return None
    return getattr(message, field).ToTimedelta()


def contact_from_proto(contact: tenants_pb2.Contact) -> Contact:
    return Contact(name=contact.name, title=contact.title, email=contact.email, phone=contact.phone)


def contact_to_proto(contact: Contact) -> tenants_pb2.Contact:
    return tenants_pb2.Contact(name=contact.name, title=contact.title, email=contact.email, phone=contact.phone)


def tenant_to_proto(tenant: Tenant) -> tenants_pb2.Tenant:
    """The API (and event) form of a tenant."""
    return tenants_pb2.Tenant(
        tenant_id=tenant.tenant_id,
        legal_name=tenant.legal_name,
        credit_code=tenant.credit_code,
        sub_park_id=tenant.sub_park_id,
        sector_id=tenant.sector_id,
        contacts=[contact_to_proto(contact) for contact in tenant.contacts],
        description=tenant.description,
        status=STATUS_TO_PROTO[tenant.status],
        registered_at=timestamp(tenant.registered_at),
        updated_at=timestamp(tenant.updated_at),
        version=tenant.version,
    )


def tenant_from_proto(message: tenants_pb2.Tenant) -> Tenant:
    """A tenant from its event (or API) form; the inverse of ``tenant_to_proto``."""
    return Tenant(
        tenant_id=message.tenant_id,
        legal_name=message.legal_name,
        credit_code=message.credit_code,
        sub_park_id=message.sub_park_id,
        sector_id=message.sector_id,
        contacts=tuple(contact_from_proto(contact) for contact in message.contacts),
        description=message.description,
        status=STATUS_FROM_PROTO[message.status],
        registered_at=message.registered_at.ToDatetime(tzinfo=UTC),
        updated_at=message.updated_at.ToDatetime(tzinfo=UTC),
        version=message.version,
    )


def sub_park_to_proto(sub_park: SubPark) -> tenants_pb2.SubPark:
    return tenants_pb2.SubPark(
        sub_park_id=sub_park.sub_park_id,
        name=sub_park.name,
        theme=sub_park.theme,
        trade_fee_bps=sub_park.trade_fee_bps,
        headquarters=sub_park.headquarters,
    )


def sector_to_proto(sector: Sector) -> tenants_pb2.Sector:
    return tenants_pb2.Sector(sector_id=sector.sector_id, name=sector.name)


def credential_to_proto(credential: Credential) -> tenants_pb2.Credential:
    """A credential's description; the token hash never leaves the service."""
    message = tenants_pb2.Credential(
        credential_id=credential.credential_id,
        role=ROLE_TO_PROTO[credential.role],
        tenant_id=credential.tenant_id,
        bank_id=credential.bank_id,
        node_id=credential.node_id,
        scopes=list(credential.scopes),
        label=credential.label,
        issued_at=timestamp(credential.issued_at),
        expires_at=timestamp(credential.expires_at),
        revoke_reason=credential.revoke_reason,
        issued_by=credential.issued_by,
    )
    if credential.revoked_at is not None:
        message.revoked_at.CopyFrom(timestamp(credential.revoked_at))
    return message


def revenue_report_to_proto(report: RevenueReport) -> tenants_pb2.RevenueReport:
    return tenants_pb2.RevenueReport(
        report_id=report.report_id,
        tenant_id=report.tenant_id,
        period=str(report.period),
        revenue=money_to_proto(report.revenue),
        version=report.version,
        current=report.current,
        reported_at=timestamp(report.reported_at),
        reported_by=report.reported_by,
        note=report.note,
    )


def event_payload(event: DomainEvent) -> tuple[Message, str, str]:
    """``(payload, record key, tenant id)`` of a domain event (see events.proto for the keys)."""
    match event:
        case TenantRegistered(tenant, actor):
            payload = events_pb2.TenantRegistered(tenant=tenant_to_proto(tenant), registered_by=actor)
            return payload, tenant.tenant_id, tenant.tenant_id
        case TenantProfileUpdated(tenant, changed, actor):
            payload = events_pb2.TenantProfileUpdated(
                tenant=tenant_to_proto(tenant), changed_fields=list(changed), updated_by=actor
            )
            return payload, tenant.tenant_id, tenant.tenant_id
        case TenantStatusChanged(tenant, before, after, reason, actor):
            payload = events_pb2.TenantStatusChanged(
                tenant=tenant_to_proto(tenant),
                from_status=STATUS_TO_PROTO[before],
                to_status=STATUS_TO_PROTO[after],
                reason=reason,
                changed_by=actor,
            )
            return payload, tenant.tenant_id, tenant.tenant_id
        case CredentialIssued(credential):
            payload = events_pb2.CredentialIssued(credential=credential_to_proto(credential))
            return payload, credential.credential_id, credential.tenant_id
        case CredentialRevoked(credential):
            return _revoked_payload(credential), credential.credential_id, credential.tenant_id
        case RevenueReported(report, sub_park_id, sector_id):
            return _revenue_payload(report, sub_park_id, sector_id), revenue_key(report), report.tenant_id
        case SubParkDefined(sub_park, actor, defined_at):
            payload = events_pb2.SubParkDefined(
                sub_park=sub_park_to_proto(sub_park), defined_by=actor, defined_at=timestamp(defined_at)
            )
            return payload, sub_park.sub_park_id, ""
        case SectorDefined(sector, defined_at):
            payload = events_pb2.SectorDefined(sector=sector_to_proto(sector), defined_at=timestamp(defined_at))
            return payload, sector.sector_id, ""
    raise TypeError(f"not a tenants domain event: {event!r}")


def event_envelope(event: DomainEvent, *, correlation_id: str | None) -> Envelope:
    """The envelope the outbox publishes for ``event``; a fresh event id on every call."""
    payload, key, tenant_id = event_payload(event)
    return build_envelope(
        payload, producer=PRODUCER, aggregate_id=key, tenant_id=tenant_id, correlation_id=correlation_id
    )


def revenue_key(report: RevenueReport) -> str:
    """Record key of revenue events: one compacted slot per tenant and month."""
    return f"{report.tenant_id}/{report.period}"


def _revoked_payload(credential: Credential) -> events_pb2.CredentialRevoked:
    assert credential.revoked_at is not None
    return events_pb2.CredentialRevoked(
        credential_id=credential.credential_id,
        role=ROLE_TO_PROTO[credential.role],
        tenant_id=credential.tenant_id,
        expires_at=timestamp(credential.expires_at),
        revoked_at=timestamp(credential.revoked_at),
        reason=credential.revoke_reason,
        revoked_by=credential.revoked_by,
    )


def _revenue_payload(report: RevenueReport, sub_park_id: str, sector_id: str) -> events_pb2.RevenueReported:
    return events_pb2.RevenueReported(
        report_id=report.report_id,
        tenant_id=report.tenant_id,
        period=str(report.period),
        revenue=money_to_proto(report.revenue),
        version=report.version,
        replaces_version=report.replaces_version,
        sub_park_id=sub_park_id,
        sector_id=sector_id,
        reported_at=timestamp(report.reported_at),
        reported_by=report.reported_by,
    )
