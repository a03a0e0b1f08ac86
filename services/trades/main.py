"""Wiring of the trades service: settings, logging, Mongo, topics, outbox relay, tenant
directory consumer (inbox), revocation feed, pool closer, gRPC server. Nothing else lives here.

Run it from the repository root::

    PARKOS_TOKEN_PUBLIC_KEY_FILE=.infra/keys/token-signing.pub python -m services.trades.main

``TradesService`` is the one bootstrap: tests build it with their own settings (a fresh
database and topics, port 0, a test key) and start and stop it in-process.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

from parkos.auth import RevocationList, TokenVerifier
from parkos.auth.revocation_feed import REVOCATIONS_WAIT_SECONDS, follow_revocations
from parkos.clock import Clock, park_clock
from parkos.config import load_settings
from parkos.events import TopicSpec
from parkos.events.provisioning import ensure_topics
from parkos.events.topics import DLQ, TENANTS, TRADES
from parkos.grpc import GrpcServer, install_signal_handlers, transport_options
from parkos.inbox import DeadLetterPublisher, InboxConsumer
from parkos.inbox.kafka_consumer import open_manual_commit_consumer
from parkos.logging import configure_logging, get_logger
from parkos.metrics import start_metrics_server
from parkos.mongo import connect_mongo
from parkos.outbox import OutboxRelay, open_idempotent_producer
from parkos.page_tokens import PageTokens
from parkos.runtime import tune_gc_after_startup

from services.trades.api import METHOD_SCOPES, SERVICE_NAME, TradesApiConfig, TradesServicer, add_to_server
from services.trades.handlers import tenant_event_handlers
from services.trades.pool_closer import PoolCloser
from services.trades.settings import TradesSettings
from services.trades.store import TradesStore

log = get_logger(__name__)


class TradesService:
    """The running service: build with settings, ``start()``, ``stop()``."""

    def __init__(self, settings: TradesSettings, *, clock: Clock = park_clock) -> None:
        if settings.token_public_key_file is None:
            raise ValueError("PARKOS_TOKEN_PUBLIC_KEY_FILE is required: the trades service verifies tokens")
        self.settings = settings
        self._clock = clock
        self.revocations = RevocationList(loaded=False)  # until the feed has read the topic
        self._verifier = TokenVerifier(
            Path(settings.token_public_key_file).read_bytes(), revocations=self.revocations,
            issuer=settings.token_issuer,
        )
        self._page_tokens = PageTokens(_page_token_secret(settings))
        self._client = connect_mongo(settings.mongo_uri, app_name=settings.service_name)
        db = self._client[settings.mongo_database]
        bootstrap, name = settings.kafka_bootstrap, settings.service_name
        self.relay = OutboxRelay(
            db, lambda: open_idempotent_producer(bootstrap, client_id=f"{name}-outbox"),
            service=name, relay_id=settings.relay_id,
        )
        self.store = TradesStore(self._client, settings.mongo_database, topic=settings.trades_topic,
                                 on_commit=self.relay.notify)
        self._dlq_producer = open_idempotent_producer(bootstrap, client_id=f"{name}-dlq")
        self.directory = InboxConsumer(
            client=self._client,
            db=db,
            consumer_factory=lambda: open_manual_commit_consumer(
                bootstrap, settings.directory_group, [settings.tenants_topic], client_id=f"{name}-directory"
            ),
            handlers=tenant_event_handlers(self.store),
            dead_letters=DeadLetterPublisher(self._dlq_producer, topic=settings.dlq_topic),
            group_id=settings.directory_group,
        )
        self.revocation_feed = follow_revocations(
            bootstrap, self.revocations, client_id=f"{name}-revocations", topic=settings.tenants_topic
        )
        self.pool_closer = PoolCloser(
            self.store, clock=clock, interval=settings.pool_close_interval_seconds, batch=settings.pool_close_batch
        )
        self.server: GrpcServer | None = None

    @property
    def port(self) -> int:
        """The bound gRPC port (after ``start``)."""
        return self.server.port if self.server else 0

    async def start(self) -> int:
        """Prepare storage and topics, start the background work and the server; returns the port."""
        await self.store.ensure_indexes()
        await ensure_topics(self.settings.kafka_bootstrap, self._topics())
        await self._dlq_producer.start()
        await self.relay.start()
        await self.revocation_feed.start()
        # no call is taken before the revocations made earlier are known; after this wait the
        # server starts anyway, NOT_SERVING and answering UNAVAILABLE until they are
        await self.revocation_feed.wait_caught_up(REVOCATIONS_WAIT_SECONDS)
        await self.directory.start()
        await self.pool_closer.start()
        self.server = self._grpc_server()
        port = await self.server.start()
        start_metrics_server(self.settings.metrics_port, host=self.settings.metrics_host)
        log.info("trades service started", port=port, tenants_topic=self.settings.tenants_topic,
                 trades_topic=self.settings.trades_topic)
        return port

    async def stop(self) -> None:
        """Stop taking calls, let in-flight ones finish, then stop the background work."""
        if self.server is not None:
            await self.server.stop(self.settings.shutdown_grace_seconds)
        await self.pool_closer.stop()
        await self.directory.stop()
        await self.revocation_feed.stop()
        await self.relay.stop()
        await self._dlq_producer.stop()
        await self._client.close()

    def _topics(self) -> list[TopicSpec]:
        """Ours, the DLQ, and the tenants topic (so a consumer never waits for its creation)."""
        s = self.settings
        return [
            TopicSpec(s.trades_topic, TRADES.partitions, dict(TRADES.config), TRADES.replication_factor),
            TopicSpec(s.tenants_topic, TENANTS.partitions, dict(TENANTS.config), TENANTS.replication_factor),
            TopicSpec(s.dlq_topic, DLQ.partitions, dict(DLQ.config), DLQ.replication_factor),
        ]

    def _grpc_server(self) -> GrpcServer:
        servicer = TradesServicer(
            self.store, page_tokens=self._page_tokens, config=TradesApiConfig(currency=self.settings.currency),
            clock=self._clock,
        )
        server = GrpcServer(
            verifier=self._verifier,
            host=self.settings.grpc_host,
            port=self.settings.grpc_port,
            readiness_checks={"mongo": self.store.ping, "revocations": self.revocation_feed.ready},
            **transport_options(self.settings),
        )
        server.add_servicer(lambda impl, grpc_server: add_to_server(impl, grpc_server), servicer, SERVICE_NAME,
                            METHOD_SCOPES)
        return server


def _page_token_secret(settings: TradesSettings) -> bytes:
    if settings.page_token_secret is not None:
        return settings.page_token_secret.get_secret_value().encode()
    if settings.is_production:
        log.warning("PARKOS_PAGE_TOKEN_SECRET is not set: page tokens work only on the replica that made them")
    return secrets.token_bytes(32)


async def serve(settings: TradesSettings) -> None:
    """Run until SIGTERM or SIGINT, then stop gracefully."""
    service = TradesService(settings)
    stopping = asyncio.Event()
    install_signal_handlers(asyncio.get_running_loop(), stopping.set)
    await service.start()
    tune_gc_after_startup()  # after start: what start made lives as long as the process
    try:
        await stopping.wait()
    finally:
        await service.stop()


def main() -> None:
    settings = load_settings(TradesSettings)
    configure_logging(settings.service_name, environment=settings.environment, level=settings.log_level)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
