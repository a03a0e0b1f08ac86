"""Keeping a verifier's RevocationList current from the tenants service's CredentialRevoked events.

Every service refuses a revoked token within seconds: each replica follows park.tenants.v1
from the beginning (credential events are keyed by credential id, so compaction keeps every
revocation) and revokes what the events say. A replica that just started accepts no token
until it has read every revocation published before it started (``RevocationList(loaded=False)``;
the calls get UNAVAILABLE and its health says NOT_SERVING meanwhile).
"""
from __future__ import annotations

from datetime import UTC

from park.events.v1.envelope_pb2 import Envelope
from park.tenants.v1 import events_pb2

from parkos.auth.revocations import RevocationList
from parkos.events.envelope import parse_envelope, payload_type_name, unpack_payload
from parkos.events.follower import TopicFollower, open_follower_consumer
from parkos.events.topics import TENANTS

CREDENTIAL_REVOKED = payload_type_name(events_pb2.CredentialRevoked)
# How long a starting service waits for the revocations made before it started; it then serves
# anyway, NOT_SERVING and answering UNAVAILABLE until they are read.
REVOCATIONS_WAIT_SECONDS = 15.0


def apply_revocation(revocations: RevocationList, envelope: Envelope) -> bool:
    """Revoke the credential a CredentialRevoked envelope names; False for any other event."""
    if envelope.type != CREDENTIAL_REVOKED:
        return False
    event = unpack_payload(envelope, events_pb2.CredentialRevoked)
    # forgotten once the token would have expired anyway, so the list stays small; an expiry
    # out of range is no reason to drop a revocation: it is then kept for good
    try:
        expires_at = event.expires_at.ToDatetime(tzinfo=UTC) if event.HasField("expires_at") else None
    except ValueError:
        expires_at = None
    revocations.revoke(event.credential_id, expires_at)
    return True


def follow_revocations(
    bootstrap: str, revocations: RevocationList, *, client_id: str, topic: str = TENANTS.name
) -> TopicFollower:
    """A follower of the tenants topic that applies every revocation to ``revocations``, and marks
    the list loaded once it has read what the topic held at start."""
    return TopicFollower(
        lambda: open_follower_consumer(bootstrap, topic, client_id=client_id),
        lambda raw: apply_revocation(revocations, parse_envelope(raw)),
        name="revocation-feed",
        on_caught_up=revocations.mark_loaded,
    )
