"""Request checks before the domain: page tokens, unknown fields, UpdateProfile's mask, revocation events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from park.tenants.v1 import events_pb2, tenants_pb2
from parkos.auth import RevocationList
from parkos.errors import InvalidArgument
from parkos.events import build_envelope
from parkos.page_tokens import MAX_PAGE_SIZE, PageTokens, page_size

from services.tenants import request_checks
from services.tenants.handlers import apply_record
from services.tenants.tenant_cache import TenantCache

TOKENS = PageTokens(b"0123456789abcdef-test-secret")
QUERY = {"method": "ListTenants", "sector_id": "sec-fintech"}


def fields_of(error: InvalidArgument) -> set[str]:
    return {violation.field for violation in error.violations}


def test_a_page_token_round_trips() -> None:
    token = TOKENS.encode(last_id="ten_X", query=QUERY, caller="admin:a")
    assert TOKENS.decode(token, query=QUERY, caller="admin:a") == "ten_X"
    assert TOKENS.decode("", query=QUERY, caller="admin:a") is None


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: "x" + t,
        lambda t: t.split(".")[0],
        lambda t: "!!!." + t.split(".")[1],
        lambda t: PageTokens(b"another-secret-of-16-bytes").encode(last_id="ten_X", query=QUERY, caller="admin:a"),
    ],
)
def test_tampered_tokens_are_refused(mutate) -> None:  # type: ignore[no-untyped-def]
    token = TOKENS.encode(last_id="ten_X", query=QUERY, caller="admin:a")
    with pytest.raises(InvalidArgument) as caught:
        TOKENS.decode(mutate(token), query=QUERY, caller="admin:a")
    assert fields_of(caught.value) == {"page.page_token"}


def test_tokens_of_another_query_or_caller_are_refused() -> None:
    token = TOKENS.encode(last_id="ten_X", query=QUERY, caller="admin:a")
    for query, caller in (({**QUERY, "sector_id": ""}, "admin:a"), (QUERY, "tenant:ten_Y")):
        with pytest.raises(InvalidArgument):
            TOKENS.decode(token, query=query, caller=caller)


def test_page_sizes() -> None:
    assert page_size(0) == 50 and page_size(7) == 7 and page_size(10_000) == MAX_PAGE_SIZE
    with pytest.raises(InvalidArgument):
        page_size(-1)


def test_unknown_fields_are_named_at_any_depth() -> None:
    contact = tenants_pb2.Contact.FromString(tenants_pb2.Contact(name="A").SerializeToString() + bytes([0x50, 0x01]))
    request = tenants_pb2.RegisterTenantRequest(contacts=[tenants_pb2.Contact(name="B"), contact])
    with pytest.raises(InvalidArgument) as caught:
        request_checks.refuse_unknown_fields(request)
    assert fields_of(caught.value) == {"contacts[1].#10"}
    request_checks.refuse_unknown_fields(tenants_pb2.RegisterTenantRequest(contacts=[tenants_pb2.Contact(name="B")]))


def test_profile_paths() -> None:
    tenant = tenants_pb2.Tenant(tenant_id="ten_1", description="d")
    assert request_checks.profile_paths(tenants_pb2.UpdateProfileRequest(tenant=tenant)) == ("description",)
    masked = tenants_pb2.UpdateProfileRequest(tenant=tenant, update_mask=FieldMask(paths=["contacts", "contacts"]))
    assert request_checks.profile_paths(masked) == ("contacts",)
    with pytest.raises(InvalidArgument) as caught:
        request_checks.profile_paths(tenants_pb2.UpdateProfileRequest(
            tenant=tenants_pb2.Tenant(tenant_id="ten_1", legal_name="New", version=3),
            update_mask=FieldMask(paths=["sector_id", "nonsense"])))
    assert fields_of(caught.value) == {"tenant.legal_name", "tenant.version", "update_mask.paths[0]", "update_mask.paths[1]"}


def test_a_revocation_event_revokes_the_token() -> None:
    revocations, cache = RevocationList(), TenantCache(ttl=5)
    expires = datetime.now(UTC) + timedelta(days=1)
    event = events_pb2.CredentialRevoked(credential_id="crd_1")
    event.expires_at.FromDatetime(expires)
    envelope = build_envelope(event, producer="tenants", aggregate_id="crd_1")
    apply_record(envelope.SerializeToString(), revocations=revocations, cache=cache)
    assert revocations.is_revoked("crd_1") and len(cache) == 0


def test_a_fee_rate_set_on_another_replica_makes_this_one_read_the_reference_data_again() -> None:
    forgotten: list[bool] = []
    event = events_pb2.SubParkDefined(sub_park=tenants_pb2.SubPark(sub_park_id="sp-ai", trade_fee_bps=150))
    envelope = build_envelope(event, producer="tenants", aggregate_id="sp-ai")
    apply_record(envelope.SerializeToString(), revocations=RevocationList(), cache=TenantCache(ttl=5),
                 reference_changed=lambda: forgotten.append(True))
    assert forgotten == [True]
