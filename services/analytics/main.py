"""Wiring of the analytics API process: settings, the ledger view and its changelog follower,
the revocation feed, the gRPC server. Nothing else lives here. (The Faust workers that keep
the ledgers run separately: ``python -m services.analytics.worker``.)

Run it from the repository root::

    PARKOS_TOKEN_PUBLIC_KEY_FILE=.infra/keys/token-signing.pub python -m services.analytics.main

``AnalyticsService`` is the one bootstrap: tests build it with their own settings (their own
topics, port 0, a test key) and start and stop it in-process.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from parkos.auth import RevocationList, TokenVerifier
from parkos.auth.revocation_feed import REVOCATIONS_WAIT_SECONDS, follow_revocations
from parkos.clock import Clock, park_clock
from parkos.config import load_settings
from parkos.events.provisioning import ensure_topics
from parkos.events.topics import TENANTS, TopicSpec
from parkos.grpc import GrpcServer, install_signal_handlers, transport_options
from parkos.logging import configure_logging, get_logger
from parkos.metrics import start_metrics_server

from services.analytics.api import METHOD_SCOPES, SERVICE_NAME, AnalyticsServicer, add_to_server
from services.analytics.settings import AnalyticsSettings
from services.analytics.store import LedgerFollower, ParkView, open_ledger_consumer
from services.analytics.tables import LEDGERS

log = get_logger(__name__)


class AnalyticsService:
    """The running API process: build with settings, ``start()``, ``stop()``."""

    def __init__(self, settings: AnalyticsSettings, *, clock: Clock = park_clock,
                 public_key_pem: bytes | None = None) -> None:
        if public_key_pem is None:
            if settings.token_public_key_file is None:
                raise ValueError("PARKOS_TOKEN_PUBLIC_KEY_FILE is required: analytics verifies tokens")
            public_key_pem = Path(settings.token_public_key_file).read_bytes()
        self.settings = settings
        self._clock = clock
        self.revocations = RevocationList(loaded=False)  # until the feed has read the topic
        self._verifier = TokenVerifier(public_key_pem, revocations=self.revocations, issuer=settings.token_issuer)
        self.view = ParkView()
        bootstrap, name = settings.kafka_bootstrap, settings.service_name
        self.changelog_topic = settings.changelog_topic(LEDGERS)
        self.follower = LedgerFollower(
            lambda: open_ledger_consumer(bootstrap, client_id=f"{name}-ledger-view"),
            self.changelog_topic, settings.facts_partitions, self.view,
        )
        self.revocation_feed = follow_revocations(bootstrap, self.revocations, client_id=f"{name}-revocations")
        self.server: GrpcServer | None = None

    @property
    def port(self) -> int:
        return self.server.port if self.server else 0

    async def start(self) -> int:
        """Follow the changelog and the revocations, start the server; returns the port.

        Health is NOT_SERVING until the view has read every changelog partition up to where
        it stood at start, then SERVING while the follower keeps polling.
        """
        # Created here if no worker created it yet, exactly as Faust would (compacted,
        # partitioned like the repartition topic), so following never auto-creates it wrongly.
        changelog = TopicSpec(self.changelog_topic, self.settings.facts_partitions, {"cleanup.policy": "compact"})
        await ensure_topics(self.settings.kafka_bootstrap, [changelog, TENANTS])
        await self.revocation_feed.start()
        # no call is taken before the revocations made earlier are known; after this wait the
        # server starts anyway, NOT_SERVING and answering UNAVAILABLE until they are
        await self.revocation_feed.wait_caught_up(REVOCATIONS_WAIT_SECONDS)
        await self.follower.start()
        policy = self.settings.valuation_policy()
        servicer = AnalyticsServicer(self.view, lapse_of=self._verifier.lapse_of, clock=self._clock,
                                     hours_kept=policy.hour_retention, days_kept=policy.days_kept)
        self.server = GrpcServer(
            verifier=self._verifier, host=self.settings.grpc_host, port=self.settings.grpc_port,
            readiness_checks={"ledger-view": self.follower.ready, "revocations": self.revocation_feed.ready},
            readiness_interval=2.0,
            **transport_options(self.settings),
        )
        self.server.add_servicer(add_to_server, servicer, SERVICE_NAME, METHOD_SCOPES)
        port = await self.server.start()
        start_metrics_server(self.settings.metrics_port, host=self.settings.metrics_host)
        log.info("analytics api started", port=port, changelog=self.changelog_topic)
        return port

    async def wait_ready(self, timeout: float | None = None) -> None:
        """Until the view has caught up with the changelog (then reports SERVING)."""
        await asyncio.wait_for(self.follower.caught_up.wait(), timeout or self.settings.view_ready_timeout_seconds)
        if self.server is not None:
            await self.server.refresh_health()

    async def stop(self) -> None:
        """Stop taking calls (streams end), then stop following."""
        self.view.close_subscriptions()
        if self.server is not None:
            await self.server.stop(self.settings.shutdown_grace_seconds)
        await self.follower.stop()
        await self.revocation_feed.stop()


async def serve(settings: AnalyticsSettings) -> None:
    """Run until SIGTERM or SIGINT, then stop gracefully."""
    service = AnalyticsService(settings)
    stopping = asyncio.Event()
    install_signal_handlers(asyncio.get_running_loop(), stopping.set)
    await service.start()
    try:
        await stopping.wait()
    finally:
        await service.stop()


def main() -> None:
    settings = load_settings(AnalyticsSettings)
    configure_logging(settings.service_name, environment=settings.environment, level=settings.log_level)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
