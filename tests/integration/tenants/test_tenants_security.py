"""Who may do what: tenant isolation, admin-only calls, credentials, revoked and expired tokens."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from park.tenants.v1 import tenants_pb2
from parkos.auth import Role, TokenIssuer

from tests.integration.tenants.tenants_park import Park, registration, violated_fields

pytestmark = pytest.mark.infra

DENIED = (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.NOT_FOUND)


async def _code_of(call) -> grpc.StatusCode:  # type: ignore[no-untyped-def]
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


async def test_a_tenant_cannot_read_or_change_another(park: Park) -> None:
    mine, theirs = await park.register_active(), await park.register_active(legal_name="Rival Data Ltd.")
    me = park.stub((await park.tenant_token(mine.tenant_id)).token)
    other = theirs.tenant_id

    assert (await me.GetTenant(tenants_pb2.GetTenantRequest(tenant_id=mine.tenant_id))).tenant_id == mine.tenant_id
    patch = tenants_pb2.UpdateProfileRequest(
        tenant=tenants_pb2.Tenant(tenant_id=other, description="defaced"), update_mask=FieldMask(paths=["description"])
    )
    calls = [
        me.GetTenant(tenants_pb2.GetTenantRequest(tenant_id=other)),
        me.UpdateProfile(patch),
        me.ReportRevenue(tenants_pb2.ReportRevenueRequest(tenant_id=other, period="2025-01",
                                                          revenue={"amount_minor": 1, "currency": "CNY"})),
        me.ListRevenueReports(tenants_pb2.ListRevenueReportsRequest(tenant_id=other)),
        me.ListCredentials(tenants_pb2.ListCredentialsRequest(tenant_id=other)),
    ]
    for call in calls:
        try:
            await call
        except grpc.aio.AioRpcError as error:
            assert error.code() in DENIED
            assert other not in (error.details() or "") and theirs.legal_name not in (error.details() or "")
        else:
            raise AssertionError("a tenant reached another tenant's data")
    # A tenant that does not exist is refused the same way: nothing tells them apart.
    ghost = other[:-1] + ("0" if other[-1] != "0" else "1")
    assert await _code_of(me.GetTenant(tenants_pb2.GetTenantRequest(tenant_id=ghost))) == grpc.StatusCode.PERMISSION_DENIED

    listed = await me.ListTenants(tenants_pb2.ListTenantsRequest())
    assert [t.tenant_id for t in listed.tenants] == [mine.tenant_id]
    unchanged = await park.admin.GetTenant(tenants_pb2.GetTenantRequest(tenant_id=other))
    assert unchanged.description == theirs.description


async def test_a_tenant_cannot_issue_credentials_or_change_status(park: Park) -> None:
    tenant = await park.register_active()
    me = park.stub((await park.tenant_token(tenant.tenant_id)).token)
    before = await park.counts()
    calls = [
        me.IssueCredential(tenants_pb2.IssueCredentialRequest(role=tenants_pb2.ROLE_TENANT, tenant_id=tenant.tenant_id)),
        me.IssueCredential(tenants_pb2.IssueCredentialRequest(role=tenants_pb2.ROLE_ADMIN)),
        me.ChangeStatus(tenants_pb2.ChangeStatusRequest(tenant_id=tenant.tenant_id,
                                                        status=tenants_pb2.TENANT_STATUS_SUSPENDED, reason="x")),
        me.RegisterTenant(registration()),
        me.RevokeCredential(tenants_pb2.RevokeCredentialRequest(credential_id="crd_01JD8X0000000000000000000")),
    ]
    for call in calls:
        assert await _code_of(call) == grpc.StatusCode.PERMISSION_DENIED
    assert await park.counts() == before


async def test_a_credential_is_shown_once_and_stored_as_a_hash(park: Park) -> None:
    tenant = await park.register_active()
    issued = await park.tenant_token(tenant.tenant_id)
    assert issued.token and issued.credential.credential_id.startswith("crd_")
    stored = await park.mongo[park.database]["credentials"].find_one({"_id": issued.credential.credential_id})
    assert stored["token_sha256"] == hashlib.sha256(issued.token.encode()).hexdigest()
    assert issued.token not in repr(stored)
    listed = await park.admin.ListCredentials(tenants_pb2.ListCredentialsRequest(tenant_id=tenant.tenant_id))
    assert [c.credential_id for c in listed.credentials] == [issued.credential.credential_id]
    assert issued.token not in str(listed)


async def test_bank_and_agent_credentials_are_bound(park: Park) -> None:
    bank = await park.admin.IssueCredential(tenants_pb2.IssueCredentialRequest(
        role=tenants_pb2.ROLE_BANK, bank_id="bank-jinshang", scopes=["loans:read", "tenants:read"],
        ttl={"seconds": 3600}))
    assert bank.credential.bank_id == "bank-jinshang" and list(bank.credential.scopes) == ["loans:read", "tenants:read"]
    as_bank = park.stub(bank.token)
    tenant = await park.register_active()
    assert (await as_bank.GetTenant(tenants_pb2.GetTenantRequest(tenant_id=tenant.tenant_id))).tenant_id
    agent = await park.admin.IssueCredential(tenants_pb2.IssueCredentialRequest(role=tenants_pb2.ROLE_AGENT, node_id="node-west-07"))
    as_agent = park.stub(agent.token)
    assert await _code_of(as_agent.GetTenant(tenants_pb2.GetTenantRequest(tenant_id=tenant.tenant_id))) == grpc.StatusCode.PERMISSION_DENIED
    assert len((await as_agent.ListSectors(tenants_pb2.ListSectorsRequest())).sectors) == 16


async def test_a_scoped_token_may_only_make_the_calls_its_scopes_allow(park: Park) -> None:
    tenant = await park.register_active()
    reader = await park.admin.IssueCredential(tenants_pb2.IssueCredentialRequest(
        role=tenants_pb2.ROLE_TENANT, tenant_id=tenant.tenant_id, scopes=["revenue:read"], label="BI dashboard"))
    as_reader = park.stub(reader.token)
    assert list((await as_reader.ListRevenueReports(tenants_pb2.ListRevenueReportsRequest(
        tenant_id=tenant.tenant_id))).reports) == []
    before = await park.counts()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await as_reader.ReportRevenue(tenants_pb2.ReportRevenueRequest(
            tenant_id=tenant.tenant_id, period="2025-01", revenue={"amount_minor": 100, "currency": "CNY"}))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "revenue:write" in caught.value.details()
    assert await park.counts() == before
    # a scope narrows the role, never widens it: another tenant's reports stay closed
    other = await park.register_active()
    assert await _code_of(as_reader.ListRevenueReports(tenants_pb2.ListRevenueReportsRequest(
        tenant_id=other.tenant_id))) == grpc.StatusCode.PERMISSION_DENIED
    # an admin token with scopes is narrowed the same way
    auditor = await park.admin.IssueCredential(tenants_pb2.IssueCredentialRequest(
        role=tenants_pb2.ROLE_ADMIN, scopes=["tenants:read"], label="auditor"))
    as_auditor = park.stub(auditor.token)
    assert (await as_auditor.GetTenant(tenants_pb2.GetTenantRequest(tenant_id=tenant.tenant_id))).tenant_id
    assert await _code_of(as_auditor.IssueCredential(tenants_pb2.IssueCredentialRequest(
        role=tenants_pb2.ROLE_ADMIN))) == grpc.StatusCode.PERMISSION_DENIED
    # the reference data every app needs is open to any token
    assert len((await as_reader.ListSectors(tenants_pb2.ListSectorsRequest())).sectors) == 16


async def test_a_token_that_manages_credentials_cannot_issue_a_wider_one(park: Park) -> None:
    rotation = await park.admin.IssueCredential(tenants_pb2.IssueCredentialRequest(
        role=tenants_pb2.ROLE_ADMIN, scopes=["credentials:manage", "tenants:read"], label="rotation bot"))
    as_rotation = park.stub(rotation.token)
    before = await park.counts()
    for wider in ([], ["tenants:admin"], ["credentials:manage", "orders:refund"]):
        assert await _code_of(as_rotation.IssueCredential(tenants_pb2.IssueCredentialRequest(
            role=tenants_pb2.ROLE_ADMIN, scopes=wider))) == grpc.StatusCode.PERMISSION_DENIED, wider
    assert await park.counts() == before
    narrower = await as_rotation.IssueCredential(tenants_pb2.IssueCredentialRequest(
        role=tenants_pb2.ROLE_ADMIN, scopes=["tenants:read"], label="read-only"))
    assert list(narrower.credential.scopes) == ["tenants:read"]


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (tenants_pb2.IssueCredentialRequest(), "role"),
        (tenants_pb2.IssueCredentialRequest(role=tenants_pb2.ROLE_TENANT), "tenant_id"),
        (tenants_pb2.IssueCredentialRequest(role=tenants_pb2.ROLE_TENANT, tenant_id="acme"), "tenant_id"),
        (tenants_pb2.IssueCredentialRequest(role=tenants_pb2.ROLE_BANK, bank_id="b", node_id="n"), "node_id"),
        (tenants_pb2.IssueCredentialRequest(role=tenants_pb2.ROLE_ADMIN, ttl={"seconds": 10}), "ttl"),
        (tenants_pb2.IssueCredentialRequest(role=tenants_pb2.ROLE_ADMIN, scopes=["NOT A SCOPE"]), "scopes[0]"),
        (tenants_pb2.IssueCredentialRequest(role=tenants_pb2.ROLE_ADMIN, scopes=["orders:read", "orders:all"]),
         "scopes[1]"),
    ],
)
async def test_bad_credential_requests(park: Park, request_: tenants_pb2.IssueCredentialRequest, field: str) -> None:
    before = await park.counts()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await park.admin.IssueCredential(request_)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(caught.value) == {field}
    assert await park.counts() == before


async def test_a_revoked_token_is_refused(park: Park) -> None:
    tenant = await park.register_active()
    issued = await park.tenant_token(tenant.tenant_id)
    me = park.stub(issued.token)
    read = tenants_pb2.GetTenantRequest(tenant_id=tenant.tenant_id)
    await me.GetTenant(read)
    revoked = await park.admin.RevokeCredential(tenants_pb2.RevokeCredentialRequest(
        credential_id=issued.credential.credential_id, reason="laptop stolen"))
    assert revoked.HasField("revoked_at") and revoked.revoke_reason == "laptop stolen"
    assert await _code_of(me.GetTenant(read)) == grpc.StatusCode.UNAUTHENTICATED
    again = await park.admin.RevokeCredential(tenants_pb2.RevokeCredentialRequest(
        credential_id=issued.credential.credential_id, reason="again"))
    assert again.revoked_at == revoked.revoked_at and again.revoke_reason == "laptop stolen"
    events = await park.events([issued.credential.credential_id], expect=2)
    assert [e.type for e in events] == ["park.tenants.v1.CredentialIssued", "park.tenants.v1.CredentialRevoked"]


async def test_a_revocation_reaches_another_replica_within_seconds(park: Park, replica) -> None:  # type: ignore[no-untyped-def]
    tenant = await park.register_active()
    issued = await park.tenant_token(tenant.tenant_id)
    via_replica = park.stub(issued.token, target=f"127.0.0.1:{replica.port}")
    read = tenants_pb2.GetTenantRequest(tenant_id=tenant.tenant_id)
    await via_replica.GetTenant(read)
    await park.admin.RevokeCredential(tenants_pb2.RevokeCredentialRequest(credential_id=issued.credential.credential_id))
    loop = asyncio.get_running_loop()
    started = loop.time()
    while await _code_of(via_replica.GetTenant(read)) == grpc.StatusCode.OK:
        assert loop.time() - started < 5.0, "the replica still accepts a revoked token after 5 s"
        await asyncio.sleep(0.05)


async def test_an_expired_token_is_refused(park: Park) -> None:
    tenant = await park.register_active()
    private_pem = park.service.settings.token_private_key_file.read_bytes()
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    expired = TokenIssuer(private_pem, clock=lambda: an_hour_ago).issue(
        Role.TENANT, tenant.tenant_id, tenant_id=tenant.tenant_id, ttl=timedelta(minutes=5))
    stale = park.stub(expired.token)
    assert await _code_of(stale.GetTenant(tenants_pb2.GetTenantRequest(tenant_id=tenant.tenant_id))) == grpc.StatusCode.UNAUTHENTICATED


async def test_offboarding_revokes_every_credential_of_the_tenant(park: Park) -> None:
    tenant = await park.register_active()
    tokens = [await park.tenant_token(tenant.tenant_id) for _ in range(2)]
    for status, reason in ((tenants_pb2.TENANT_STATUS_SUSPENDED, "closing"), (tenants_pb2.TENANT_STATUS_OFFBOARDED, "closed")):
        await park.admin.ChangeStatus(tenants_pb2.ChangeStatusRequest(tenant_id=tenant.tenant_id, status=status, reason=reason))
    for issued in tokens:
        me = park.stub(issued.token)
        assert await _code_of(me.GetTenant(tenants_pb2.GetTenantRequest(tenant_id=tenant.tenant_id))) == grpc.StatusCode.UNAUTHENTICATED
    listed = await park.admin.ListCredentials(tenants_pb2.ListCredentialsRequest(tenant_id=tenant.tenant_id, include_revoked=True))
    assert all(c.HasField("revoked_at") for c in listed.credentials) and len(listed.credentials) == 2
    assert await _code_of(park.tenant_token(tenant.tenant_id)) == grpc.StatusCode.FAILED_PRECONDITION


async def test_calls_without_a_token_are_unauthenticated(park: Park) -> None:
    anonymous = park.stub(None)
    assert await _code_of(anonymous.ListSubParks(tenants_pb2.ListSubParksRequest())) == grpc.StatusCode.UNAUTHENTICATED
    forged = park.stub(park.admin_token[:-4] + "AAAA")
    assert await _code_of(forged.ListSubParks(tenants_pb2.ListSubParksRequest())) == grpc.StatusCode.UNAUTHENTICATED


async def test_a_credential_issued_while_another_admin_suspends_the_tenant_is_refused(park: Park) -> None:
    """Write skew: both transactions read the tenant active; only one may commit on that reading."""
    from parkos.errors import FailedPrecondition

    from services.tenants.domain import TenantStatus

    tenant = await park.register_active()
    seen: list[TenantStatus] = []

    async def issue_on_an_active_reading(tx):  # type: ignore[no-untyped-def]  # IssueCredential's check and hold
        held = await tx.tenant(tenant.tenant_id)
        seen.append(held.status)
        if len(seen) == 1:  # the other admin's suspension commits after this transaction read the tenant
            await park.admin.ChangeStatus(tenants_pb2.ChangeStatusRequest(
                tenant_id=tenant.tenant_id, status=tenants_pb2.TENANT_STATUS_SUSPENDED, reason="audit"))
        held.ensure_may_hold_credentials()
        await tx.hold_tenant(held)

    with pytest.raises(FailedPrecondition):
        await park.service.store.transaction(issue_on_an_active_reading, correlation_id=None)
    assert seen == [TenantStatus.ACTIVE, TenantStatus.SUSPENDED]  # run again, and then it saw the suspension
