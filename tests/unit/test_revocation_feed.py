"""Applying the tenants service's revocation events to a verifier's revocation list."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from park.tenants.v1 import events_pb2

from parkos.auth import RevocationList
from parkos.auth.revocation_feed import apply_revocation
from parkos.events import build_envelope


def revoked(credential_id: str, expires_at: datetime):
    event = events_pb2.CredentialRevoked(credential_id=credential_id, tenant_id="ten_1")
    event.expires_at.FromDatetime(expires_at)
    return build_envelope(event, producer="tenants", aggregate_id=credential_id)


def test_a_credential_revoked_event_revokes_its_token():
    revocations = RevocationList()
    assert apply_revocation(revocations, revoked("tok_1", datetime.now(UTC) + timedelta(days=1)))
    assert revocations.is_revoked("tok_1")
    assert not revocations.is_revoked("tok_2")


def test_other_events_leave_the_list_alone():
    revocations = RevocationList()
    other = build_envelope(events_pb2.TenantRegistered(), producer="tenants", aggregate_id="ten_1")
    assert not apply_revocation(revocations, other)
    assert len(revocations) == 0


def test_a_revocation_with_an_expiry_out_of_range_is_kept_for_good():
    revocations = RevocationList()
    event = events_pb2.CredentialRevoked(credential_id="tok_far", tenant_id="ten_1")
    event.expires_at.seconds = 10**12  # past year 9999: not a datetime
    assert apply_revocation(revocations, build_envelope(event, producer="tenants", aggregate_id="tok_far"))
    assert revocations.is_revoked("tok_far")
