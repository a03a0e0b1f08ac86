"""MongoDB documents of the tenants database, to and from domain entities.

Each entity is one document whose ``_id`` is the entity's id. Money is stored as
``{"amount_minor": int, "currency": str}``; times are UTC datetimes (millisecond precision,
which is why the service's clock already truncates to milliseconds).
"""

from __future__ import annotations

from typing import Any

from parkos.auth.roles import Role
from parkos.money import Money

from services.tenants.credentials import Credential
from services.tenants.domain import Contact, Sector, SubPark, Tenant, TenantStatus
from services.tenants.revenue import Period, RevenueReport

Document = dict[str, Any]


def tenant_document(tenant: Tenant) -> Document:
    """The stored form of a tenant; ``name_fold`` serves case-insensitive prefix search."""
    return {
        "_id": tenant.tenant_id,
        "legal_name": tenant.legal_name,
        "name_fold": tenant.legal_name.casefold(),
        "credit_code": tenant.credit_code,
        "sub_park_id": tenant.sub_park_id,
        "sector_id": tenant.sector_id,
        "contacts": [
            {"name": c.name, "title": c.title, "email": c.email, "phone": c.phone} for c in tenant.contacts
        ],
        "description": tenant.description,
        "status": tenant.status.value,
        "registered_at": tenant.registered_at,
        "updated_at": tenant.updated_at,
        "version": tenant.version,
    }


def tenant_from_document(document: Document) -> Tenant:
    return Tenant(
        tenant_id=document["_id"],
        legal_name=document["legal_name"],
        credit_code=document["credit_code"],
        sub_park_id=document["sub_park_id"],
        sector_id=document["sector_id"],
        contacts=tuple(Contact(**contact) for contact in document["contacts"]),
        description=document["description"],
        status=TenantStatus(document["status"]),
        registered_at=document["registered_at"],
        updated_at=document["updated_at"],
        version=document["version"],
    )


def sub_park_document(sub_park: SubPark, position: int) -> Document:
    return {
        "_id": sub_park.sub_park_id,
        "name": sub_park.name,
        "theme": sub_park.theme,
        "trade_fee_bps": sub_park.trade_fee_bps,
        "headquarters": sub_park.headquarters,
        "position": position,
    }


def sub_park_from_document(document: Document) -> SubPark:
    return SubPark(
        sub_park_id=document["_id"],
        name=document["name"],
        theme=document["theme"],
        trade_fee_bps=document["trade_fee_bps"],
        headquarters=document["headquarters"],
    )


def sector_document(sector: Sector, position: int) -> Document:
    return {"_id": sector.sector_id, "name": sector.name, "position": position}


def sector_from_document(document: Document) -> Sector:
    return Sector(sector_id=document["_id"], name=document["name"])


def credential_document(credential: Credential) -> Document:
    """The stored form of a credential: the token's sha256, never the token."""
    return {
        "_id": credential.credential_id,
        "role": credential.role.value,
        "tenant_id": credential.tenant_id,
        "bank_id": credential.bank_id,
        "node_id": credential.node_id,
        "scopes": list(credential.scopes),
        "label": credential.label,
        "issued_at": credential.issued_at,
        "expires_at": credential.expires_at,
        "issued_by": credential.issued_by,
        "token_sha256": credential.token_hash,
        "revoked_at": credential.revoked_at,
        "revoke_reason": credential.revoke_reason,
        "revoked_by": credential.revoked_by,
    }


def credential_from_document(document: Document) -> Credential:
    return Credential(
        credential_id=document["_id"],
        role=Role(document["role"]),
        tenant_id=document["tenant_id"],
        bank_id=document["bank_id"],
        node_id=document["node_id"],
        scopes=tuple(document["scopes"]),
        label=document["label"],
        issued_at=document["issued_at"],
        expires_at=document["expires_at"],
        issued_by=document["issued_by"],
        token_hash=document["token_sha256"],
        revoked_at=document["revoked_at"],
        revoke_reason=document["revoke_reason"],
        revoked_by=document["revoked_by"],
    )


def revenue_document(report: RevenueReport) -> Document:
    return {
        "_id": report.report_id,
        "tenant_id": report.tenant_id,
        "period": str(report.period),
        "version": report.version,
        "current": report.current,
        "revenue": {"amount_minor": report.revenue.amount_minor, "currency": report.revenue.currency},
        "reported_at": report.reported_at,
        "reported_by": report.reported_by,
        "note": report.note,
    }


def revenue_from_document(document: Document) -> RevenueReport:
    year, month = document["period"].split("-")
    revenue = document["revenue"]
    return RevenueReport(
        report_id=document["_id"],
        tenant_id=document["tenant_id"],
        period=Period(int(year), int(month)),
        revenue=Money(int(revenue["amount_minor"]), revenue["currency"]),
        version=document["version"],
        reported_at=document["reported_at"],
        reported_by=document["reported_by"],
        note=document["note"],
        current=document["current"],
    )
