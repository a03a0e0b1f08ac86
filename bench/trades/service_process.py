"""Step 0: the trades service in its own process, configured as in production."""
from __future__ import annotations

import os
from pathlib import Path

from bench.common import BenchInfra
from bench.common.service_process import ServiceProcess

SERVICE = "park.trades.v1.TradesService"


def trades_service(infra: BenchInfra, database: str, topics: dict[str, str], key_file: Path, log: Path) -> ServiceProcess:
    """The trades service in its own process, configured as in production, on topics of the run."""
    env = {
        **os.environ, "PARKOS_MONGO_DATABASE": database,
        "PARKOS_MONGO_URI": infra.mongo_uri, "PARKOS_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "PARKOS_TOKEN_PUBLIC_KEY_FILE": str(key_file), "PARKOS_ENVIRONMENT": "production",
        "PARKOS_LOG_LEVEL": "INFO", "PARKOS_TENANTS_TOPIC": topics["tenants"],
        "PARKOS_TRADES_TOPIC": topics["trades"], "PARKOS_DLQ_TOPIC": topics["dlq"],
        "PARKOS_DIRECTORY_GROUP": f"bench-trades-directory-{infra.run_id}",
        "PARKOS_PAGE_TOKEN_SECRET": "bench-trades-page-token-secret",
    }
    return ServiceProcess("services.trades.main", SERVICE, env, log)
