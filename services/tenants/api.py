"""The park.tenants.v1.TenantsService servicer.

Each call checks the request's form, authorizes the caller, translates the message into
domain terms, lets the domain decide inside a store transaction, and translates back.
Errors are ``parkos.errors`` exceptions; the gRPC layer turns them into statuses. A
tenant principal asking about another tenant is refused before anything is looked up,
so a refusal never tells whether that tenant exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import grpc
from park.tenants.v1 import tenants_pb2, tenants_pb2_grpc
from parkos.auth import Principal, RevocationList, Role, TokenIssuer, hash_token_secret
from parkos.auth import require_admin, require_role, require_tenant_access, scopes
from parkos.clock import Clock, park_clock
from parkos.errors import InvalidArgument, NotFound
from parkos.grpc import current_principal
from parkos.ids import new_id
from parkos.logging import current_correlation_id
from parkos.money_proto import money_from_proto
from parkos.page_tokens import PageTokens, page_size

from services.tenants import mapping, request_checks
from services.tenants.credentials import Credential, CredentialRequest
from services.tenants.domain import ProfilePatch, SubPark, Tenant, TenantApplication, TenantStatus, checked_trade_fee
from services.tenants.revenue import ListingPosition, Period, RevenueReport, report_revenue
from services.tenants.lists import CredentialQuery, RevenueQuery, TenantQuery
from services.tenants.store import TenantsStore, Transaction


@dataclass(frozen=True)
class TenantsApiConfig:
    """What the servicer needs besides its collaborators."""

    currency: str = "CNY"


class TenantsServicer(tenants_pb2_grpc.TenantsServiceServicer):
    """gRPC entry point of the tenants service."""

    def __init__(
        self,
        store: TenantsStore,
        *,
        issuer: TokenIssuer,
        revocations: RevocationList,
        page_tokens: PageTokens,
        config: TenantsApiConfig = TenantsApiConfig(),
        clock: Clock = park_clock,
    ) -> None:
        self._store = store
        self._issuer = issuer
        self._revocations = revocations
        self._pages = page_tokens
        self._config = config
        self._clock = clock

    async def RegisterTenant(self, request: tenants_pb2.RegisterTenantRequest, context: Any) -> tenants_pb2.Tenant:
        """Admin: register an enterprise as a PENDING tenant (ALREADY_EXISTS for a taken credit code)."""
        principal = _admin(request)
        application = TenantApplication(
            legal_name=request.legal_name,
            credit_code=request.credit_code,
            sub_park_id=request.sub_park_id,
            sector_id=request.sector_id,
            contacts=[mapping.contact_from_proto(contact) for contact in request.contacts],
            description=request.description,
        )
        tenant_id, now = new_id(request_checks.TENANT_ID_PREFIX), self._clock()
        reference = await self._store.reference_data()

        async def register(tx: Transaction) -> Tenant:
            tenant, event = Tenant.register(
                application, tenant_id=tenant_id, reference=reference, actor=principal.subject, now=now
            )
            await tx.add_tenant(tenant)
            tx.record(event)
            return tenant

        return mapping.tenant_to_proto(await self._transaction(register))

    async def GetTenant(self, request: tenants_pb2.GetTenantRequest, context: Any) -> tenants_pb2.Tenant:
        """One tenant: admins and banks any, a tenant only itself (refused before any lookup)."""
        request_checks.refuse_unknown_fields(request)
        tenant_id = request_checks.tenant_id(request.tenant_id)
        _may_read_tenant(current_principal(), tenant_id)
        tenant = await self._store.tenant(tenant_id)
        if tenant is None:
            raise NotFound("tenant not found")
        return mapping.tenant_to_proto(tenant)

    async def ListTenants(self, request: tenants_pb2.ListTenantsRequest, context: Any) -> tenants_pb2.ListTenantsResponse:
        """Tenants by sub-park, sector, status and name prefix, in registration order, one page at a time."""
        request_checks.refuse_unknown_fields(request)
        principal = current_principal()
        require_role(principal, Role.ADMIN, Role.BANK, Role.TENANT)
        reference = await self._store.reference_data()
        query = TenantQuery(
            sub_park_id=request.sub_park_id and reference.sub_park(request.sub_park_id).sub_park_id,
            sector_id=request.sector_id and reference.sector(request.sector_id).sector_id,
            status=_status_filter(request.status),
            name_prefix=request_checks.name_prefix(request.name_prefix),
            tenant_id=(principal.tenant_id or "") if principal.role is Role.TENANT else "",
        )
        tenants, next_token = await self._page(principal, "ListTenants", query, request.page, self._store.list_tenants)
        return tenants_pb2.ListTenantsResponse(
            tenants=[mapping.tenant_to_proto(tenant) for tenant in tenants], page={"next_page_token": next_token}
        )

    async def UpdateProfile(self, request: tenants_pb2.UpdateProfileRequest, context: Any) -> tenants_pb2.Tenant:
        """Contacts and description only; any other field in the request is refused."""
        request_checks.refuse_unknown_fields(request)
        tenant_id = request_checks.tenant_id(request.tenant.tenant_id, "tenant.tenant_id")
        principal = current_principal()
        require_tenant_access(principal, tenant_id)
        paths = request_checks.profile_paths(request)
        patch = ProfilePatch(
            contacts=[mapping.contact_from_proto(c) for c in request.tenant.contacts] if "contacts" in paths else None,
            description=request.tenant.description if "description" in paths else None,
        )
        now = self._clock()

        async def update(tx: Transaction) -> Tenant:
            tenant, event = (await tx.tenant(tenant_id)).update_profile(patch, actor=principal.subject, now=now)
            if event is not None:
                await tx.save_tenant(tenant)
                tx.record(event)
            return tenant

        return mapping.tenant_to_proto(await self._transaction(update))

    async def ChangeStatus(self, request: tenants_pb2.ChangeStatusRequest, context: Any) -> tenants_pb2.Tenant:
        """Admin: move a tenant in its lifecycle; offboarding also revokes its credentials."""
        principal = _admin(request)
        tenant_id = request_checks.tenant_id(request.tenant_id)
        target = _status_filter(request.status)
        if target is None:
            raise InvalidArgument.for_field("status", "is required")
        now = self._clock()
        revoked: list[Credential] = []

        async def change(tx: Transaction) -> Tenant:
            tenant, event = (await tx.tenant(tenant_id)).change_status(
                target, reason=request.reason, actor=principal.subject, now=now
            )
            await tx.save_tenant(tenant)
            tx.record(event)
            revoked[:] = await _revoke_all_if_offboarded(tx, tenant, principal, now)
            return tenant

        tenant = await self._transaction(change)
        self._remember_revoked(revoked)
        return mapping.tenant_to_proto(tenant)

    async def ListSubParks(self, request: tenants_pb2.ListSubParksRequest, context: Any) -> tenants_pb2.ListSubParksResponse:
        """The sub-parks and their trade-fee rates, to anyone signed in."""
        request_checks.refuse_unknown_fields(request)
        current_principal()
        reference = await self._store.reference_data()
        return tenants_pb2.ListSubParksResponse(sub_parks=[mapping.sub_park_to_proto(s) for s in reference.sub_parks])

    async def ListSectors(self, request: tenants_pb2.ListSectorsRequest, context: Any) -> tenants_pb2.ListSectorsResponse:
        """The sectors, to anyone signed in."""
        request_checks.refuse_unknown_fields(request)
        current_principal()
        reference = await self._store.reference_data()
        return tenants_pb2.ListSectorsResponse(sectors=[mapping.sector_to_proto(s) for s in reference.sectors])

    async def SetTradeFee(self, request: tenants_pb2.SetTradeFeeRequest, context: Any) -> tenants_pb2.SubPark:
        """Admin: a sub-park's trade-fee rate, published (SubParkDefined) for the trades service."""
        principal = _admin(request)
        if not request.sub_park_id:
            raise InvalidArgument.for_field("sub_park_id", "is required")
        checked_trade_fee(request.trade_fee_bps)  # bad input first: nothing is looked up
        now = self._clock()

        async def set_fee(tx: Transaction) -> SubPark:
            sub_park, event = (await tx.sub_park(request.sub_park_id)).with_trade_fee(
                request.trade_fee_bps, actor=principal.subject, now=now
            )
            await tx.save_sub_park(sub_park)
            tx.record(event)
            return sub_park

        sub_park = await self._transaction(set_fee)
        self._store.forget_reference_data()
        return mapping.sub_park_to_proto(sub_park)

    async def IssueCredential(
        self, request: tenants_pb2.IssueCredentialRequest, context: Any
    ) -> tenants_pb2.IssueCredentialResponse:
        """Admin: sign a token, keep its hash, return the token once."""
        principal = _admin(request)
        wanted = CredentialRequest(
            role=mapping.ROLE_FROM_PROTO.get(request.role),
            tenant_id=request.tenant_id and request_checks.tenant_id(request.tenant_id),
            bank_id=request.bank_id,
            node_id=request.node_id,
            scopes=list(request.scopes),
            label=request.label,
            ttl=mapping.duration_or_none(request, "ttl"),
        ).checked()
        wanted.ensure_within(principal.scopes)
        credential_id, now = new_id(request_checks.CREDENTIAL_ID_PREFIX), self._clock()
        issued = self._issuer.issue(
            wanted.role, _subject_of(wanted, credential_id), tenant_id=wanted.tenant_id or None,
            bank_id=wanted.bank_id or None, node_id=wanted.node_id or None, scopes=wanted.scopes,
            ttl=wanted.ttl, token_id=credential_id,
        )

        async def issue(tx: Transaction) -> Credential:
            if wanted.role is Role.TENANT:
                tenant = await tx.tenant(wanted.tenant_id)
                tenant.ensure_may_hold_credentials()
                await tx.hold_tenant(tenant)  # a concurrent suspension or offboarding conflicts
            credential, event = Credential.issued(
                wanted, credential_id=credential_id, token_hash=hash_token_secret(issued.token),
                expires_at=issued.expires_at, actor=principal.subject, now=now,
            )
            await tx.add_credential(credential)
            tx.record(event)
            return credential

        credential = await self._transaction(issue)
        return tenants_pb2.IssueCredentialResponse(credential=mapping.credential_to_proto(credential), token=issued.token)

    async def RevokeCredential(self, request: tenants_pb2.RevokeCredentialRequest, context: Any) -> tenants_pb2.Credential:
        """Admin: revoke a credential (idempotent); this replica refuses it at once."""
        principal = _admin(request)
        credential_id = request_checks.credential_id(request.credential_id)
        now = self._clock()

        async def revoke(tx: Transaction) -> Credential:
            credential, event = (await tx.credential(credential_id)).revoke(
                reason=request.reason, actor=principal.subject, now=now
            )
            if event is not None:
                await tx.save_credentials([credential])
                tx.record(event)
            return credential

        credential = await self._transaction(revoke)
        self._remember_revoked([credential])
        return mapping.credential_to_proto(credential)

    async def ListCredentials(
        self, request: tenants_pb2.ListCredentialsRequest, context: Any
    ) -> tenants_pb2.ListCredentialsResponse:
        """Credentials (never tokens): admins any, a tenant its own."""
        request_checks.refuse_unknown_fields(request)
        principal = current_principal()
        require_role(principal, Role.ADMIN, Role.TENANT)
        tenant_id = request.tenant_id and request_checks.tenant_id(request.tenant_id)
        if principal.role is Role.TENANT:
            tenant_id = tenant_id or principal.tenant_id or ""
            require_tenant_access(principal, tenant_id)
        role = mapping.ROLE_FROM_PROTO.get(request.role)
        if request.role and role is None:
            raise InvalidArgument.for_field("role", "is not a known role")
        query = CredentialQuery(tenant_id=tenant_id, role=role.value if role else "", include_revoked=request.include_revoked)
        found, next_token = await self._page(principal, "ListCredentials", query, request.page, self._store.list_credentials)
        return tenants_pb2.ListCredentialsResponse(
            credentials=[mapping.credential_to_proto(c) for c in found], page={"next_page_token": next_token}
        )

    async def ReportRevenue(self, request: tenants_pb2.ReportRevenueRequest, context: Any) -> tenants_pb2.RevenueReport:
        """Declare a month's revenue; a repeat for the same month is the next version."""
        request_checks.refuse_unknown_fields(request)
        tenant_id = request_checks.tenant_id(request.tenant_id)
        principal = current_principal()
        require_tenant_access(principal, tenant_id)
        now = self._clock()
        period = Period.parse(request.period, now=now)
        revenue = money_from_proto(request.revenue if request.HasField("revenue") else None, field="revenue")
        report_id = new_id(request_checks.REPORT_ID_PREFIX)

        async def report(tx: Transaction) -> Any:
            tenant = await tx.tenant(tenant_id)
            latest = await tx.current_revenue(tenant_id, period)
            filed, event = report_revenue(
                tenant, period=period, revenue=revenue, note=request.note, latest_version=latest.version if latest else 0,
                report_id=report_id, currency=self._config.currency, actor=principal.subject, now=now,
            )
            await tx.hold_tenant(tenant)  # an offboarding at the same moment conflicts
            await tx.add_revenue(filed)
            tx.record(event)
            return filed

        return mapping.revenue_report_to_proto(await self._transaction(report))

    async def ListRevenueReports(
        self, request: tenants_pb2.ListRevenueReportsRequest, context: Any
    ) -> tenants_pb2.ListRevenueReportsResponse:
        """A tenant's reports, current versions unless superseded ones are asked for."""
        request_checks.refuse_unknown_fields(request)
        tenant_id = request_checks.tenant_id(request.tenant_id)
        principal = current_principal()
        require_tenant_access(principal, tenant_id)
        period = Period.parse(request.period, now=self._clock()) if request.period else None
        query = RevenueQuery(tenant_id=tenant_id, period=period, include_superseded=request.include_superseded)
        # "by period": cursors are (period, version) positions since reports are listed that way;
        # a replica still listing by id then refuses them rather than restart the list
        found, next_token = await self._page(principal, "ListRevenueReports by period", query, request.page,
                                             self._store.list_revenue)
        return tenants_pb2.ListRevenueReportsResponse(
            reports=[mapping.revenue_report_to_proto(r) for r in found], page={"next_page_token": next_token}
        )

    async def _transaction(self, work: Callable[[Transaction], Any]) -> Any:
        return await self._store.transaction(work, correlation_id=current_correlation_id())

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
        last_id = _id_of(found[-1])
        return found, self._pages.encode(last_id=last_id, query=fingerprint, caller=caller)

    def _remember_revoked(self, credentials: list[Credential]) -> None:
        # This replica refuses the tokens at once; the others learn it from the event.
        for credential in credentials:
            if credential.revoked:
                self._revocations.revoke(credential.credential_id, credential.expires_at)


def add_to_server(servicer: TenantsServicer, server: grpc.aio.Server) -> None:
    """Register the servicer on a grpc.aio server."""
    tenants_pb2_grpc.add_TenantsServiceServicer_to_server(servicer, server)


SERVICE_NAME = tenants_pb2.DESCRIPTOR.services_by_name["TenantsService"].full_name
# The scope a scoped token needs for each call (parkos.auth.scopes); roles are checked as well.
METHOD_SCOPES = {
    **dict.fromkeys(("GetTenant", "ListTenants"), scopes.TENANTS_READ),
    **dict.fromkeys(("ListSubParks", "ListSectors"), scopes.ANY_TOKEN),
    **dict.fromkeys(("RegisterTenant", "UpdateProfile"), scopes.TENANTS_WRITE),
    **dict.fromkeys(("ChangeStatus", "SetTradeFee"), scopes.TENANTS_ADMIN),
    **dict.fromkeys(("IssueCredential", "RevokeCredential", "ListCredentials"), scopes.CREDENTIALS_MANAGE),
    "ListRevenueReports": scopes.REVENUE_READ,
    "ReportRevenue": scopes.REVENUE_WRITE,
}


def _admin(request: Any) -> Principal:
    """The caller, who must be an admin; the request is checked for unknown fields first."""
    principal = current_principal()
    require_admin(principal)
    request_checks.refuse_unknown_fields(request)
    return principal


def _may_read_tenant(principal: Principal, tenant_id: str) -> None:
    if principal.role is Role.BANK:
        return
    require_tenant_access(principal, tenant_id)


def _status_filter(value: int) -> TenantStatus | None:
    if value == tenants_pb2.TENANT_STATUS_UNSPECIFIED:
        return None
    status = mapping.STATUS_FROM_PROTO.get(value)
    if status is None:
        raise InvalidArgument.for_field("status", "is not a known tenant status")
    return status


def _subject_of(request: CredentialRequest, credential_id: str) -> str:
    """Who the token speaks for: the bound party, or the credential itself for an admin."""
    return request.tenant_id or request.bank_id or request.node_id or credential_id


def _id_of(item: Any) -> str:
    """The cursor of a listed item: its own id (credentials also name a tenant); a revenue
    report's position, as reports are listed by period and version."""
    if isinstance(item, RevenueReport):
        return str(ListingPosition.of(item))
    for attribute in ("credential_id", "tenant_id"):
        if hasattr(item, attribute):
            return getattr(item, attribute)
    raise TypeError(f"no id on {item!r}")


async def _revoke_all_if_offboarded(
    tx: Transaction, tenant: Tenant, principal: Principal, now: datetime
) -> list[Credential]:
    """Offboarding a tenant revokes every credential it still holds, in the same transaction."""
    if tenant.status is not TenantStatus.OFFBOARDED:
        return []
    revoked = []
    for credential in await tx.active_credentials_of(tenant.tenant_id):
        credential, event = credential.revoke(reason="tenant offboarded", actor=principal.subject, now=now)
        tx.record(event)
        revoked.append(credential)
    await tx.save_credentials(revoked)
    return revoked

