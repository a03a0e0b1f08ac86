"""Reactions to the service's own events, so that every replica stays current.

Every replica follows ``park.tenants.v1`` from the beginning with a ``TopicFollower``:

- ``CredentialRevoked`` -> the token verifier's ``RevocationList``: a token revoked on any
  replica is refused by this one as soon as the outbox relay has published the event
  (credential events are keyed by credential id, so compaction keeps every revocation);
- tenant events (which carry the whole tenant) -> the ``TenantCache`` of GetTenant.

Revocations are also seeded from the database at start (``seed_revocations``), so a
replica refuses revoked tokens before it has read the topic. Nothing here writes to the
database, so there is neither an inbox nor a consumer group: each replica reads every
partition itself.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from datetime import UTC

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from park.tenants.v1 import events_pb2
from parkos.auth import RevocationList
from parkos.events import MalformedEvent, parse_envelope, payload_type_name, unpack_payload
from parkos.logging import get_logger

from services.tenants.credentials import Credential
from services.tenants.mapping import tenant_from_proto
from services.tenants.tenant_cache import TenantCache

log = get_logger(__name__)
CREDENTIAL_REVOKED = payload_type_name(events_pb2.CredentialRevoked)
TENANT_SNAPSHOTS = {
    payload_type_name(message): message
    for message in (events_pb2.TenantRegistered, events_pb2.TenantProfileUpdated, events_pb2.TenantStatusChanged)
}


def seed_revocations(revocations: RevocationList, credentials: Iterable[Credential]) -> int:
    """Revoke every given (revoked, not yet expired) credential; returns how many."""
    count = 0
    for credential in credentials:
        revocations.revoke(credential.credential_id, credential.expires_at)
        count += 1
    return count


def apply_credential_revoked(revocations: RevocationList, event: events_pb2.CredentialRevoked) -> None:
    """Refuse the revoked token from now on (forgotten once it would have expired anyway)."""
    expires_at = event.expires_at.ToDatetime(tzinfo=UTC) if event.HasField("expires_at") else None
    revocations.revoke(event.credential_id, expires_at)


def apply_tenant_snapshot(cache: TenantCache, tenant: events_pb2.TenantRegistered) -> None:
    """Keep the tenant an event carries, unless a newer version is cached."""
    cache.put(tenant_from_proto(tenant.tenant))


def apply_record(raw: bytes | None, *, revocations: RevocationList, cache: TenantCache) -> str:
    """Apply one record of park.tenants.v1; returns its event type (MalformedEvent if unusable)."""
    envelope = parse_envelope(raw)
    if envelope.type == CREDENTIAL_REVOKED:
        apply_credential_revoked(revocations, unpack_payload(envelope, events_pb2.CredentialRevoked))
    elif envelope.type in TENANT_SNAPSHOTS:
        apply_tenant_snapshot(cache, unpack_payload(envelope, TENANT_SNAPSHOTS[envelope.type]))
    return envelope.type


class TopicFollower:
    """Reads park.tenants.v1 for as long as the service runs and applies every record."""

    def __init__(
        self,
        consumer_factory: Callable[[], AIOKafkaConsumer],
        *,
        revocations: RevocationList,
        cache: TenantCache,
        retry_seconds: float = 1.0,
    ) -> None:
        self._consumer_factory = consumer_factory
        self._revocations = revocations
        self._cache = cache
        self._retry_seconds = retry_seconds
        self._task: asyncio.Task[None] | None = None
        self.applied = 0

    async def start(self) -> None:
        """Start following in the background."""
        self._task = asyncio.create_task(self._run(), name="tenants-topic-follower")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            consumer = self._consumer_factory()
            try:
                await consumer.start()
                await self._follow(consumer)
            except KafkaError as error:
                log.warning("topic follower retrying", error=str(error))
                await asyncio.sleep(self._retry_seconds)
            finally:
                with contextlib.suppress(Exception):
                    await consumer.stop()

    async def _follow(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    self._apply(record.value)

    def _apply(self, raw: bytes | None) -> None:
        try:
            apply_record(raw, revocations=self._revocations, cache=self._cache)
        except MalformedEvent as error:
            # Not ours to dead-letter: the topic's inbox consumers do that. Skip it.
            log.warning("topic follower skipped a malformed record", error=str(error))
            return
        self.applied += 1


def open_follower_consumer(bootstrap: str, topic: str, *, client_id: str) -> AIOKafkaConsumer:
    """A group-less consumer of every partition of ``topic`` from its first record."""
    return AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        client_id=client_id,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
