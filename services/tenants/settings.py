"""Settings of the tenants service: ``PARKOS_*`` environment variables (see parkos.config)."""

from __future__ import annotations

from pathlib import Path

from parkos.config import ParkSettings
from parkos.events.topics import DLQ, TENANTS
from pydantic import Field, SecretStr


class TenantsSettings(ParkSettings):
    """``PARKOS_*`` settings of the tenants service."""

    service_name: str = "tenants"
    grpc_port: int = Field(default=50051, ge=0, le=65535)
    mongo_database: str = "park_tenants"
    # The park's currency: declared revenue must be in it.
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    # JSON seed of sub-parks and sectors; unset: the reference park's (reference_data.py).
    reference_data_file: Path | None = None
    # Signs page tokens; shared by every replica. Unset: derived from the signing key.
    page_token_secret: SecretStr | None = None
    # How long GetTenant may serve a tenant from memory (0 turns the cache off); see tenant_cache.py.
    tenant_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    shutdown_grace_seconds: float = 10.0
    # Topics (overridable so tests and benchmarks run on topics of their own).
    tenants_topic: str = TENANTS.name
    dlq_topic: str = DLQ.name
