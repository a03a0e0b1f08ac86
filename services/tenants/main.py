"""Wiring of the tenants service: settings, logging, Mongo, topics, outbox relay,
topic follower (revocations, tenant cache), tenant cache refresher, gRPC server. Nothing else lives here.

Run it from the repository root::

    PARKOS_TOKEN_PRIVATE_KEY_FILE=.infra/keys/token-signing.pem python -m services.tenants.main

``TenantsService`` is the one bootstrap: tests build it with their own settings (a fresh
database, port 0, a test key) and start and stop it in-process.
"""

from __future__ import annotations

from dataclasses import replace

import asyncio
import hashlib
import hmac
from pathlib import Path

from parkos.auth import RevocationList, TokenIssuer, TokenVerifier, public_key_pem_of
from parkos.clock import Clock, park_clock
from parkos.config import load_settings
from parkos.events.follower import TopicFollower, open_follower_consumer
from parkos.events.provisioning import ensure_topics
from parkos.events.topics import DLQ, TENANTS
from parkos.grpc import GrpcServer, install_signal_handlers, transport_options
from parkos.logging import configure_logging, get_logger
from parkos.metrics import start_metrics_server
from parkos.mongo import connect_mongo
from parkos.outbox import OutboxRelay, open_idempotent_producer
from parkos.page_tokens import PageTokens
from parkos.runtime import tune_gc_after_startup

from services.tenants.api import METHOD_SCOPES, SERVICE_NAME, TenantsApiConfig, TenantsServicer, add_to_server
from services.tenants.handlers import apply_record, seed_revocations
from services.tenants.reference_data import load_reference_data
from services.tenants.settings import TenantsSettings
from services.tenants.store import TenantsStore
from services.tenants.tenant_cache import TenantCache, TenantCacheRefresher

log = get_logger(__name__)


class TenantsService:
    """The running service: build with settings, ``start()``, ``stop()``."""

    def __init__(self, settings: TenantsSettings, *, clock: Clock = park_clock) -> None:
        if settings.token_private_key_file is None:
            raise ValueError("PARKOS_TOKEN_PRIVATE_KEY_FILE is required: the tenants service signs tokens")
        self.settings = settings
        self._clock = clock
        private_pem = Path(settings.token_private_key_file).read_bytes()
        self.revocations = RevocationList()
        self._issuer = TokenIssuer(private_pem, issuer=settings.token_issuer)
        self._verifier = TokenVerifier(
            public_key_pem_of(private_pem), revocations=self.revocations, issuer=settings.token_issuer
        )
        self._page_tokens = PageTokens(_page_token_secret(settings, private_pem))
        self._client = connect_mongo(settings.mongo_uri, app_name=settings.service_name)
        bootstrap, name = settings.kafka_bootstrap, settings.service_name
        self.relay = OutboxRelay(
            self._client[settings.mongo_database],
            lambda: open_idempotent_producer(bootstrap, client_id=f"{name}-outbox"),
            service=name,
        )
        self.cache = TenantCache(ttl=settings.tenant_cache_seconds)
        self.store = TenantsStore(
            self._client, settings.mongo_database, topic=settings.tenants_topic,
            on_commit=self.relay.notify, cache=self.cache,
        )
        self.cache_refresher = TenantCacheRefresher(self.cache, self.store.tenant_versions, self.store.tenants_by_id)
        self.follower = TopicFollower(
            lambda: open_follower_consumer(bootstrap, settings.tenants_topic, client_id=f"{name}-follower"),
            lambda raw: apply_record(raw, revocations=self.revocations, cache=self.cache,
                                     reference_changed=self.store.forget_reference_data),
            name="tenants-follower",
        )
        self.server: GrpcServer | None = None

    @property
    def port(self) -> int:
        """The bound gRPC port (after ``start``)."""
        return self.server.port if self.server else 0

    async def start(self) -> int:
        """Prepare storage and topics, start the relay, the feed and the server; returns the port."""
        await self.store.ensure_indexes()
        reference = await self.store.seed_reference_data(
            load_reference_data(self.settings.reference_data_file), now=self._clock()
        )
        await ensure_topics(self.settings.kafka_bootstrap, [
            replace(TENANTS, name=self.settings.tenants_topic), replace(DLQ, name=self.settings.dlq_topic)])
        seeded = seed_revocations(self.revocations, await self.store.revoked_credentials(self._clock()))
        await self.relay.start()
        await self.follower.start()
        await self.cache_refresher.start()
        self.server = self._grpc_server()
        port = await self.server.start()
        start_metrics_server(self.settings.metrics_port, host=self.settings.metrics_host)
        log.info(
            "tenants service started", port=port, sub_parks=len(reference.sub_parks),
            sectors=len(reference.sectors), revocations=seeded,
        )
        return port

    async def stop(self) -> None:
        """Stop taking calls, let in-flight ones finish, then stop the background work."""
        if self.server is not None:
            await self.server.stop(self.settings.shutdown_grace_seconds)
        await self.cache_refresher.stop()
        log.info("tenant cache", hits=self.cache.hits, misses=self.cache.misses,
                 confirmed=self.cache_refresher.confirmed, reread=self.cache_refresher.reread)
        await self.follower.stop()
        await self.relay.stop()
        await self._client.close()

    def _grpc_server(self) -> GrpcServer:
        servicer = TenantsServicer(
            self.store,
            issuer=self._issuer,
            revocations=self.revocations,
            page_tokens=self._page_tokens,
            config=TenantsApiConfig(currency=self.settings.currency),
            clock=self._clock,
        )
        server = GrpcServer(
            verifier=self._verifier,
            host=self.settings.grpc_host,
            port=self.settings.grpc_port,
            readiness_checks={"mongo": self.store.ping},
            **transport_options(self.settings),
        )
        server.add_servicer(lambda impl, grpc_server: add_to_server(impl, grpc_server), servicer, SERVICE_NAME,
                            METHOD_SCOPES)
        return server


def _page_token_secret(settings: TenantsSettings, private_pem: bytes) -> bytes:
    if settings.page_token_secret is not None:
        return settings.page_token_secret.get_secret_value().encode()
    return hmac.new(private_pem, b"park-os tenants page tokens", hashlib.sha256).digest()


async def serve(settings: TenantsSettings) -> None:
    """Run until SIGTERM or SIGINT, then stop gracefully."""
    service = TenantsService(settings)
    stopping = asyncio.Event()
    install_signal_handlers(asyncio.get_running_loop(), stopping.set)
    await service.start()
    tune_gc_after_startup()  # after start: what start made lives as long as the process
    try:
        await stopping.wait()
    finally:
        await service.stop()


def main() -> None:
    settings = load_settings(TenantsSettings)
    configure_logging(settings.service_name, environment=settings.environment, level=settings.log_level)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
