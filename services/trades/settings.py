"""Settings of the trades service: ``PARKOS_*`` environment variables (see parkos.config)."""

from __future__ import annotations

from parkos.config import ParkSettings
from parkos.events.topics import DLQ, TENANTS, TRADES
from pydantic import Field, SecretStr


class TradesSettings(ParkSettings):
    """``PARKOS_*`` settings of the trades service."""

    service_name: str = "trades"
    grpc_port: int = Field(default=50052, ge=0, le=65535)
    mongo_database: str = "park_trades"
    # The park's currency: every price and settlement is in it.
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    # Signs page tokens; every replica must share it. Unset: a random secret per process
    # (page tokens then only work against the replica that made them, until it restarts).
    page_token_secret: SecretStr | None = None
    # Topics (overridable so tests and benchmarks can run on topics of their own).
    tenants_topic: str = TENANTS.name
    trades_topic: str = TRADES.name
    dlq_topic: str = DLQ.name
    # Consumer group of the tenant directory (one per deployment: replicas share the work).
    directory_group: str = "trades-tenant-directory"
    # Stable per replica (e.g. the pod name) so a restarted replica takes its relay lease back at once.
    relay_id: str | None = None
    pool_close_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    pool_close_batch: int = Field(default=20, ge=1, le=1000)
    shutdown_grace_seconds: float = 10.0
