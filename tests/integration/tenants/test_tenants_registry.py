"""Registering, reading, listing, editing and moving tenants through the real gRPC API."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from park.tenants.v1 import tenants_pb2
from parkos.ids import new_id

from parkos import credit_code

from tests.integration.tenants.tenants_park import Park, fresh_credit_code, registration, violated_fields

pytestmark = pytest.mark.infra

ACTIVE = tenants_pb2.TENANT_STATUS_ACTIVE
SUSPENDED = tenants_pb2.TENANT_STATUS_SUSPENDED
OFFBOARDED = tenants_pb2.TENANT_STATUS_OFFBOARDED


async def test_register_then_get(park: Park) -> None:
    request = registration(credit_code=fresh_credit_code().lower() + "  ")
    tenant = await park.admin.RegisterTenant(request)
    assert tenant.tenant_id.startswith("ten_")
    assert tenant.status == tenants_pb2.TENANT_STATUS_PENDING
    assert tenant.credit_code == request.credit_code.strip().upper()
    assert tenant.version == 1
    assert await park.admin.GetTenant(tenants_pb2.GetTenantRequest(tenant_id=tenant.tenant_id)) == tenant


async def test_reference_data_is_seeded(park: Park) -> None:
    sub_parks = (await park.admin.ListSubParks(tenants_pb2.ListSubParksRequest())).sub_parks
    sectors = (await park.admin.ListSectors(tenants_pb2.ListSectorsRequest())).sectors
    assert len(sub_parks) == 9 and [s.sub_park_id for s in sub_parks if s.headquarters] == ["sp-hq"]
    assert all(0 < s.trade_fee_bps <= 10_000 for s in sub_parks)
    assert len(sectors) == 16


async def test_duplicate_credit_code_already_exists(park: Park) -> None:
    code = fresh_credit_code()
    await park.admin.RegisterTenant(registration(credit_code=code))
    before = await park.counts()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await park.admin.RegisterTenant(registration(credit_code=code, legal_name="Another Name Ltd."))
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert await park.counts() == before


def _wrong_check(code: str) -> str:
    last = credit_code.ALPHABET[(credit_code.ALPHABET.index(code[-1]) + 1) % 31]
    return code[:-1] + last


BAD_REGISTRATIONS = [
    ({"credit_code": _wrong_check(fresh_credit_code())}, "credit_code"),
    ({"credit_code": "91440300"}, "credit_code"),
    ({"credit_code": ""}, "credit_code"),
    ({"sub_park_id": "sp-moon"}, "sub_park_id"),
    ({"sector_id": "sec-alchemy"}, "sector_id"),
    ({"legal_name": ""}, "legal_name"),
    ({"legal_name": "   "}, "legal_name"),
    ({"legal_name": "N" * 151}, "legal_name"),
    ({"contacts": []}, "contacts"),
    ({"contacts": [tenants_pb2.Contact(name="Li", email="not-an-email")]}, "contacts[0].email"),
    ({"description": "d" * 2001}, "description"),
]


@pytest.mark.parametrize(("overrides", "field"), BAD_REGISTRATIONS)
async def test_bad_registration_is_invalid_argument_naming_the_field(park: Park, overrides: dict, field: str) -> None:
    before = await park.counts()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await park.admin.RegisterTenant(registration(**overrides))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(caught.value) == {field}
    assert await park.counts() == before


async def test_unknown_fields_are_refused(park: Park) -> None:
    raw = registration().SerializeToString() + bytes([0xB8, 0x06, 0x01])  # field 103, varint 1
    call = park.channel(park.admin_token).unary_unary(  # raw bytes in
        "/park.tenants.v1.TenantsService/RegisterTenant",
        request_serializer=lambda payload: payload,
        response_deserializer=tenants_pb2.Tenant.FromString,
    )
    before = await park.counts()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(raw)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(caught.value) == {"#103"}
    assert await park.counts() == before


async def test_lifecycle_and_illegal_transitions(park: Park) -> None:
    tenant = await park.admin.RegisterTenant(registration())
    change = tenants_pb2.ChangeStatusRequest(tenant_id=tenant.tenant_id)

    async def move(status: int, reason: str = "") -> tenants_pb2.Tenant:
        return await park.admin.ChangeStatus(tenants_pb2.ChangeStatusRequest(
            tenant_id=tenant.tenant_id, status=status, reason=reason))

    for illegal in (SUSPENDED, OFFBOARDED):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await move(illegal, "audit")
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert (await move(ACTIVE)).status == ACTIVE
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await move(SUSPENDED)  # no reason given
    assert violated_fields(caught.value) == {"reason"}
    assert (await move(SUSPENDED, "unpaid fees")).status == SUSPENDED
    assert (await move(ACTIVE)).status == ACTIVE
    assert (await move(SUSPENDED, "leaving")).status == SUSPENDED
    final = await move(OFFBOARDED, "moved out")
    assert final.status == OFFBOARDED and final.version == 6
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await move(ACTIVE)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    change.status = 0
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await park.admin.ChangeStatus(change)
    assert violated_fields(caught.value) == {"status"}


async def test_missing_and_malformed_tenant_ids(park: Park) -> None:
    missing = new_id("ten")
    for call in (
        park.admin.ChangeStatus(tenants_pb2.ChangeStatusRequest(tenant_id=missing, status=ACTIVE)),
        park.admin.GetTenant(tenants_pb2.GetTenantRequest(tenant_id=missing)),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    for malformed in ("", "ten_123", "acme", new_id("crd")):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await park.admin.GetTenant(tenants_pb2.GetTenantRequest(tenant_id=malformed))
        assert violated_fields(caught.value) == {"tenant_id"}


async def test_list_filters_and_pages(park: Park) -> None:
    prefix = f"Pagination {fresh_credit_code()[:6]}"
    made = [
        await park.admin.RegisterTenant(registration(legal_name=f"{prefix} {i:02d} Ltd.", sub_park_id="sp-media",
                                                     sector_id="sec-esports-games"))
        for i in range(7)
    ]
    await park.admin.ChangeStatus(tenants_pb2.ChangeStatusRequest(tenant_id=made[0].tenant_id, status=ACTIVE))
    seen: list[str] = []
    request = tenants_pb2.ListTenantsRequest(name_prefix=prefix.lower(), sub_park_id="sp-media")
    request.page.page_size = 3
    while True:
        response = await park.admin.ListTenants(request)
        seen.extend(t.tenant_id for t in response.tenants)
        assert len(response.tenants) <= 3
        if not response.page.next_page_token:
            break
        request.page.page_token = response.page.next_page_token
    assert seen == [t.tenant_id for t in made]
    active = await park.admin.ListTenants(tenants_pb2.ListTenantsRequest(name_prefix=prefix, status=ACTIVE))
    assert [t.tenant_id for t in active.tenants] == [made[0].tenant_id]
    other_sector = await park.admin.ListTenants(tenants_pb2.ListTenantsRequest(name_prefix=prefix, sector_id="sec-fintech"))
    assert list(other_sector.tenants) == []


async def test_tampered_or_foreign_page_tokens_are_invalid(park: Park) -> None:
    prefix = f"Tokens {fresh_credit_code()[:6]}"
    for i in range(3):
        await park.admin.RegisterTenant(registration(legal_name=f"{prefix} {i} Ltd."))
    first = tenants_pb2.ListTenantsRequest(name_prefix=prefix)
    first.page.page_size = 1
    token = (await park.admin.ListTenants(first)).page.next_page_token
    assert token
    body, _, signature = token.partition(".")
    tampered = [token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), "garbage", body + ".", body]
    foreign_query = tenants_pb2.ListTenantsRequest(name_prefix=prefix, sector_id="sec-fintech")
    foreign_query.page.page_size = 1
    for bad, request in [(t, first) for t in tampered] + [(token, foreign_query)]:
        request = tenants_pb2.ListTenantsRequest.FromString(request.SerializeToString())
        request.page.page_token = bad
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await park.admin.ListTenants(request)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, bad
        assert violated_fields(caught.value) == {"page.page_token"}


async def test_list_refuses_unknown_filters(park: Park) -> None:
    for request, field in [
        (tenants_pb2.ListTenantsRequest(sub_park_id="sp-nowhere"), "sub_park_id"),
        (tenants_pb2.ListTenantsRequest(sector_id="sec-nothing"), "sector_id"),
        (tenants_pb2.ListTenantsRequest(status=42), "status"),
        (tenants_pb2.ListTenantsRequest(name_prefix="x" * 151), "name_prefix"),
        (tenants_pb2.ListTenantsRequest(page={"page_size": -1}), "page.page_size"),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await park.admin.ListTenants(request)
        assert violated_fields(caught.value) == {field}


async def test_update_profile_edits_contacts_and_description_only(park: Park) -> None:
    tenant = await park.register_active()
    own = park.stub((await park.tenant_token(tenant.tenant_id)).token)
    patch = tenants_pb2.Tenant(
        tenant_id=tenant.tenant_id,
        contacts=[tenants_pb2.Contact(name="Wang Fang", title="CTO", phone="+86 351 7654321")],
    )
    updated = await own.UpdateProfile(tenants_pb2.UpdateProfileRequest(tenant=patch, update_mask=FieldMask(paths=["contacts"])))
    assert [c.name for c in updated.contacts] == ["Wang Fang"]
    assert updated.description == tenant.description and updated.version == tenant.version + 1
    described = await own.UpdateProfile(tenants_pb2.UpdateProfileRequest(
        tenant=tenants_pb2.Tenant(tenant_id=tenant.tenant_id, description="Now with sensors")))
    assert described.description == "Now with sensors" and len(described.contacts) == 1

    before = await park.counts()
    refused = [
        (tenants_pb2.Tenant(tenant_id=tenant.tenant_id, credit_code=fresh_credit_code(), description="x"), None, "tenant.credit_code"),
        (tenants_pb2.Tenant(tenant_id=tenant.tenant_id, sub_park_id="sp-hq"), None, "tenant.sub_park_id"),
        (tenants_pb2.Tenant(tenant_id=tenant.tenant_id, status=OFFBOARDED), None, "tenant.status"),
        (tenants_pb2.Tenant(tenant_id=tenant.tenant_id, description="x"), ["status"], "update_mask.paths[0]"),
        (tenants_pb2.Tenant(tenant_id=tenant.tenant_id, description="x"), ["description", "legal_name"], "update_mask.paths[1]"),
        (tenants_pb2.Tenant(tenant_id=tenant.tenant_id), None, "update_mask"),
        (tenants_pb2.Tenant(tenant_id=tenant.tenant_id, contacts=[tenants_pb2.Contact(name="A")]), None, "tenant.contacts[0].email"),
    ]
    for patch, paths, field in refused:
        request = tenants_pb2.UpdateProfileRequest(tenant=patch)
        if paths:
            request.update_mask.paths.extend(paths)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await own.UpdateProfile(request)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, field
        assert violated_fields(caught.value) == {field}
    assert await park.counts() == before


async def test_another_replica_sees_a_change_within_seconds(park: Park, replica) -> None:  # type: ignore[no-untyped-def]
    tenant = await park.admin.RegisterTenant(registration())
    read = tenants_pb2.GetTenantRequest(tenant_id=tenant.tenant_id)
    via_replica = park.stub(park.admin_token, target=f"127.0.0.1:{replica.port}")
    assert (await via_replica.GetTenant(read)).status == tenants_pb2.TENANT_STATUS_PENDING  # now cached for 60 s
    await park.admin.ChangeStatus(tenants_pb2.ChangeStatusRequest(tenant_id=tenant.tenant_id, status=ACTIVE))
    loop = asyncio.get_running_loop()
    started = loop.time()
    while (await via_replica.GetTenant(read)).status != ACTIVE:
        assert loop.time() - started < 5.0, "the replica still serves the old status after 5 s"
        await asyncio.sleep(0.05)
