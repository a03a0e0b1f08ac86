"""Typed settings read from ``PARKOS_*`` environment variables.

Each service subclasses ``ParkSettings`` to add its own fields; the subclass
inherits the ``PARKOS_`` prefix (``PARKOS_GRPC_PORT`` -> ``grpc_port``).
Environment variables that name no field are ignored, so services sharing one
environment do not trip over each other's settings.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import Field, FilePath, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_PORT = {"ge": 0, "le": 65535}


class ParkSettings(BaseSettings):
    """Settings every Park OS process shares."""

    # Environment variables that name no field are never read, so they are
    # ignored; "forbid" only rejects misspelt keyword overrides in code/tests.
    model_config = SettingsConfigDict(env_prefix="PARKOS_", extra="forbid")

    service_name: str = "parkos"
    environment: Literal["development", "production"] = "development"
    log_level: str = "INFO"
    kafka_bootstrap: str = "127.0.0.1:19092"
    mongo_uri: str = "mongodb://127.0.0.1:27117/?directConnection=true"
    grpc_host: str = "127.0.0.1"
    grpc_port: int = Field(default=0, **_PORT)  # 0: the OS picks a free port
    metrics_port: int = Field(default=0, **_PORT)  # 0: no /metrics endpoint
    # 0.0.0.0 in containers, so Prometheus can scrape from outside the pod
    metrics_host: str = "127.0.0.1"
    token_public_key_file: Path | None = None
    # Only the issuer (the tenants service) holds the private key.
    token_private_key_file: Path | None = None
    token_issuer: str = "park-os"
    # gRPC transport security (parkos.grpc.tls): certificate and key turn TLS on; a CA also
    # requires client certificates signed by it (mutual TLS). The files must exist when the
    # settings load; they are read at start, so a renewed certificate takes a restart.
    tls_cert_file: FilePath | None = None
    tls_key_file: FilePath | None = None
    tls_ca_file: FilePath | None = None
    # A plaintext port serving only grpc.health.v1, for probes that cannot speak TLS (None: none).
    grpc_health_port: int | None = Field(default=None, **_PORT)

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in logging.getLevelNamesMapping():
            raise ValueError(f"unknown log level {value!r}")
        return level

    @model_validator(mode="after")
    def _whole_tls_configuration(self) -> ParkSettings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("PARKOS_TLS_CERT_FILE and PARKOS_TLS_KEY_FILE go together")
        if self.tls_ca_file is not None and self.tls_cert_file is None:
            raise ValueError("PARKOS_TLS_CA_FILE (client certificates) needs the server's certificate and key")
        if self.grpc_health_port and self.grpc_health_port == self.grpc_port:
            raise ValueError("PARKOS_GRPC_HEALTH_PORT must differ from PARKOS_GRPC_PORT")
        return self

    @property
    def grpc_address(self) -> str:
        """``host:port`` for the gRPC server to bind."""
        return f"{self.grpc_host}:{self.grpc_port}"

    @property
    def is_production(self) -> bool:
        """Whether this process runs in production (JSON logs, stricter defaults)."""
        return self.environment == "production"


S = TypeVar("S", bound=ParkSettings)


def load_settings(cls: type[S] = ParkSettings, **overrides: Any) -> S:  # type: ignore[assignment]
    """Settings of type ``cls`` from the environment; ``overrides`` win over it."""
    return cls(**overrides)
