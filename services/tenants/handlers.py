"""Reactions to the service's own events, so that every replica stays current.

Every replica follows ``park.tenants.v1`` from the beginning with a
``parkos.events.follower.TopicFollower`` that calls ``apply_record``:

- ``CredentialRevoked`` -> the token verifier's ``RevocationList``: a token revoked on any
  replica is refused by this one as soon as the outbox relay has published the event
  (credential events are keyed by credential id, so compaction keeps every revocation);
- tenant events (which carry the whole tenant) -> the ``TenantCache`` of GetTenant, as fresh
  as the event is old: a replica that starts re-reads the topic from its beginning, and an
  old snapshot must not count as current for a whole ttl (its version may since have been
  superseded by a write whose event is not published yet);
- ``SubParkDefined`` (a sub-park's trade-fee rate set on some replica) -> this replica's
  reference data is read again on its next use, instead of up to 30 s later.

Revocations are also seeded from the database at start (``seed_revocations``), so a
replica refuses revoked tokens before it has read the topic. Nothing here writes to the
database, so there is neither an inbox nor a consumer group: each replica reads every
partition itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from park.tenants.v1 import events_pb2
from parkos.auth import RevocationList
from parkos.auth.revocation_feed import apply_revocation
from parkos.events import parse_envelope, payload_type_name, unpack_payload

from services.tenants.credentials import Credential
from services.tenants.mapping import tenant_from_proto
from services.tenants.tenant_cache import TenantCache

TENANT_SNAPSHOTS = {
    payload_type_name(message): message
    for message in (events_pb2.TenantRegistered, events_pb2.TenantProfileUpdated, events_pb2.TenantStatusChanged)
}

SUB_PARK_DEFINED = payload_type_name(events_pb2.SubParkDefined)


def seed_revocations(revocations: RevocationList, credentials: Iterable[Credential]) -> int:
    """Revoke every given (revoked, not yet expired) credential; returns how many."""
    count = 0
    for credential in credentials:
        revocations.revoke(credential.credential_id, credential.expires_at)
        count += 1
    return count


def apply_tenant_snapshot(cache: TenantCache, tenant: events_pb2.TenantRegistered, *, age_seconds: float) -> None:
    """Keep the tenant an event carries, known current ``age_seconds`` ago, unless a newer version is cached."""
    cache.put(tenant_from_proto(tenant.tenant), fresh_at=cache.now() - max(age_seconds, 0.0))


def apply_record(raw: bytes | None, *, revocations: RevocationList, cache: TenantCache,
                 reference_changed: Callable[[], None] = lambda: None,
                 wall_clock: Callable[[], float] = time.time) -> str:
    """Apply one record of park.tenants.v1; returns its event type (MalformedEvent if unusable)."""
    envelope = parse_envelope(raw)
    if apply_revocation(revocations, envelope):
        return envelope.type
    if envelope.type in TENANT_SNAPSHOTS:
        age = wall_clock() - envelope.occurred_at.ToMicroseconds() / 1e6
        apply_tenant_snapshot(cache, unpack_payload(envelope, TENANT_SNAPSHOTS[envelope.type]), age_seconds=age)
    elif envelope.type == SUB_PARK_DEFINED:
        reference_changed()
    return envelope.type
