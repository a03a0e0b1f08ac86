"""The analytics Faust worker: ``python -m services.analytics.worker``.

Creates the topics it needs (explicit partitions and configs from the catalog), then runs
the Faust app until SIGTERM/SIGINT, which stop it gracefully (agents finish their events,
offsets are committed after the commit barrier). Several workers with the same
``PARKOS_APP_ID`` share the partitions between them.
"""

from __future__ import annotations

import asyncio

import faust
from parkos.config import load_settings
from parkos.events.provisioning import ensure_topics
from parkos.logging import configure_logging, get_logger

from services.analytics.app import build_worker_app
from services.analytics.settings import AnalyticsSettings
from services.analytics.topics import topic_specs

log = get_logger(__name__)


class AnalyticsWorker(faust.Worker):
    """Faust's worker, logging through the park's structlog configuration."""

    def __init__(self, app: faust.App, settings: AnalyticsSettings) -> None:
        super().__init__(app, loglevel=settings.log_level, quiet=True, redirect_stdouts=False)
        self._settings = settings

    def _setup_logging(self) -> None:
        configure_logging(
            self._settings.service_name, environment=self._settings.environment, level=self._settings.log_level
        )


def main() -> None:
    settings = load_settings(AnalyticsSettings)
    configure_logging(settings.service_name, environment=settings.environment, level=settings.log_level)
    created = asyncio.run(ensure_topics(settings.kafka_bootstrap, topic_specs(settings)))
    log.info("analytics worker starting", app_id=settings.app_id, topics_created=created)
    asyncio.set_event_loop(asyncio.new_event_loop())
    worker_app = build_worker_app(settings)
    AnalyticsWorker(worker_app.app, settings).execute_from_commandline()


if __name__ == "__main__":
    main()
