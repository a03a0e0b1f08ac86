"""The analytics Faust worker: ``python -m services.analytics.worker``.

Creates the topics it needs (explicit partitions and configs from the catalog), then runs
the Faust app until SIGTERM/SIGINT, which stop it gracefully (agents finish their events,
offsets are committed after the commit barrier). Several workers with the same
``PARKOS_APP_ID`` share the partitions between them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import faust
from parkos.config import load_settings
from parkos.events.provisioning import ensure_topics
from parkos.logging import configure_logging, get_logger
from parkos.metrics import start_metrics_server
from prometheus_client import REGISTRY

from services.analytics.app import build_worker_app
from services.analytics.settings import AnalyticsSettings
from services.analytics.topics import topic_specs, trades_record_lifetime_ms
from services.analytics.worker_metrics import WorkerMetrics

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


def warn_if_fact_ids_forgotten_early(settings: AnalyticsSettings) -> None:
    """Say so at every start when fact ids are forgotten while their trades can still be read again."""
    lifetime_seconds = trades_record_lifetime_ms(settings) // 1000
    if settings.fact_ids_kept_seconds < lifetime_seconds:
        log.warning(
            "fact ids are forgotten before the trades topic deletes their records: trades read again "
            "from the log start (offsets expired, or reset) would be counted twice",
            fact_ids_kept_seconds=settings.fact_ids_kept_seconds, trades_record_lifetime_seconds=lifetime_seconds,
        )


def main() -> None:
    settings = load_settings(AnalyticsSettings)
    configure_logging(settings.service_name, environment=settings.environment, level=settings.log_level)
    created = asyncio.run(ensure_topics(settings.kafka_bootstrap, topic_specs(settings)))
    log.info("analytics worker starting", app_id=settings.app_id, topics_created=created)
    warn_if_fact_ids_forgotten_early(settings)
    # Faust creates only the last level of its directory (a fresh checkout or image has no .infra)
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    asyncio.set_event_loop(asyncio.new_event_loop())
    worker_app = build_worker_app(settings)
    REGISTRY.register(WorkerMetrics(worker_app.counters, worker_app.tables, worker_app.heartbeat))
    start_metrics_server(settings.metrics_port, host=settings.metrics_host)
    AnalyticsWorker(worker_app.app, settings).execute_from_commandline()


if __name__ == "__main__":
    main()
