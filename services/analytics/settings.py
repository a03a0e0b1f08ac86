"""Settings of the analytics worker and API: ``PARKOS_*`` environment variables (see parkos.config)."""

from __future__ import annotations

from parkos.config import ParkSettings
from pydantic import Field, field_validator

from services.analytics.domain.ratios import parse_decimal
from services.analytics.domain.valuation import ValuationPolicy


class AnalyticsSettings(ParkSettings):
    """``PARKOS_*`` settings shared by ``services.analytics.worker`` and ``services.analytics.main``."""

    service_name: str = "analytics"
    grpc_port: int = Field(default=50055, ge=0, le=65535)

    # --- topics (overridable so tests and benchmarks run on topics of their own) ---
    trades_topic: str = "park.trades.v1"
    tenants_topic: str = "park.tenants.v1"
    analytics_topic: str = "park.analytics.v1"
    dlq_topic: str = "park.dlq.v1"
    # Internal repartition topic: per-tenant facts keyed by tenant id. Its partition count is
    # the tables' partition count and must never change once facts were written (a tenant's
    # ledger guard is an offset of its partition).
    facts_topic: str = "park.analytics.facts.v1"
    facts_partitions: int = Field(default=12, ge=1, le=256)
    # The Faust app id: the consumer group, and the prefix of the tables' changelog topics
    # that the API process follows.
    app_id: str = "park-analytics"

    # --- Faust worker tuning (see worker.py for why each value) ---
    commit_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    session_timeout_seconds: float = Field(default=10.0, ge=6, le=300)
    heartbeat_interval_seconds: float = Field(default=2.0, gt=0, le=60)
    producer_linger_ms: int = Field(default=1, ge=0, le=100)
    stream_buffer_maxsize: int = Field(default=1024, ge=16, le=65536)
    max_poll_records: int = Field(default=500, ge=1, le=10_000)
    # How long the broker may hold a fetch that found nothing. Faust's 1,500 ms stalls a busy
    # worker for up to that long at a time; 100 ms does not (fetch_wait.py).
    fetch_max_wait_ms: int = Field(default=100, ge=1, le=1500)
    # Seconds the commit barrier waits for outstanding writes before giving up (the worker
    # then stops without committing, and restarts from the last commit).
    flush_timeout_seconds: float = Field(default=60.0, gt=0)
    # How long a fact id is remembered, to recognise a copy of its fact (fact_memory.py): longer
    # than a trades record can be read again, i.e. the trades topic's 30-day retention plus a
    # 7-day segment roll (the worker warns at start otherwise). A copy that comes later than
    # this would be counted again.
    fact_ids_kept_seconds: int = Field(default=40 * 24 * 3600, ge=1)
    # Where Faust keeps its working files (the memory store writes none).
    data_dir: str = ".infra/analytics"

    # --- valuation (income approach) ---
    valuation_window_days: int = Field(default=90, ge=1, le=3660)
    capitalization_multiple: str = "3"
    advance_rate_bps: int = Field(default=3000, ge=0, le=10_000)
    # Compliance factor (bps) for classification levels 0 (unknown), 1, 2, 3, 4.
    compliance_factors_bps: str = "9000,9000,10000,11000,12000"
    hour_buckets_kept: int = Field(default=48, ge=1, le=24 * 400)
    # How often the worker lets time pass for the valuations (a CLOCK fact for every tenant whose
    # trailing window has moved enough to change its value); 0 turns it off.
    revalue_every_seconds: int = Field(default=3600, ge=0, le=86_400)
    valuation_history_kept: int = Field(default=20, ge=1, le=1000)

    # --- API process ---
    # The API is ready once its view has read every changelog up to where it stood at start.
    view_ready_timeout_seconds: float = Field(default=120.0, gt=0)
    shutdown_grace_seconds: float = 10.0

    @field_validator("capitalization_multiple")
    @classmethod
    def _decimal(cls, value: str) -> str:
        parse_decimal(value)
        return value.strip()

    @field_validator("compliance_factors_bps")
    @classmethod
    def _factors(cls, value: str) -> str:
        parts = [part.strip() for part in value.split(",")]
        if len(parts) != 5 or not all(part.isdigit() and int(part) <= 100_000 for part in parts):
            raise ValueError("five basis-point factors, for classification levels 0 to 4")
        return value

    def valuation_policy(self) -> ValuationPolicy:
        """The valuation parameters these settings describe."""
        factors = [int(part) for part in self.compliance_factors_bps.split(",")]
        return ValuationPolicy(
            window_days=self.valuation_window_days,
            capitalization_multiple=self.capitalization_multiple,
            advance_rate_bps=self.advance_rate_bps,
            compliance_bps=dict(enumerate(factors)),
            hour_retention=self.hour_buckets_kept,
            history_limit=self.valuation_history_kept,
        )

    def changelog_topic(self, table: str) -> str:
        """The changelog topic Faust keeps for ``table`` (``<app id>-<table>-changelog``)."""
        return f"{self.app_id}-{table}-changelog"
