"""Session fixtures: the real local infrastructure, started once or reused, and signing keys."""
from __future__ import annotations

import os
import socket
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Infra:
    """Addresses of the running Kafka broker and MongoDB-compatible server."""

    kafka_bootstrap: str
    mongo_uri: str
    root: Path
    handed_out: list[str] = field(default_factory=list)

    def unique_name(self, prefix: str) -> str:
        """A name no other test uses, so tests stay apart; databases of that name are dropped at the end."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        self.handed_out.append(name)
        return name


def _drop_test_databases(infra: Infra) -> None:
    # a reused store would otherwise grow with every run, and the store slows as it grows
    from pymongo import MongoClient

    with MongoClient(infra.mongo_uri, serverSelectionTimeoutMS=3000) as client:
        existing = set(client.list_database_names())
        for name in infra.handed_out:
            if name in existing:
                client.drop_database(name)


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session")
def infra():
    """Reuse the infrastructure `make infra-up` started, or start it (it is left running for reuse)."""
    kafka_port = int(os.environ.get("PARKOS_KAFKA_PORT", "19092"))
    mongo_port = int(os.environ.get("PARKOS_MONGO_PORT", "27117"))
    if not (_port_open(kafka_port) and _port_open(mongo_port)):
        subprocess.run(["bash", str(ROOT / "infra" / "up.sh")], check=True, cwd=ROOT)
    infra = Infra(
        kafka_bootstrap=f"127.0.0.1:{kafka_port}",
        mongo_uri=f"mongodb://127.0.0.1:{mongo_port}/?directConnection=true",
        root=ROOT,
    )
    yield infra
    _drop_test_databases(infra)


@pytest.fixture(scope="session")
def signing_keys() -> tuple[bytes, bytes]:
    """A fresh Ed25519 key pair for this test session: (private PEM, public PEM)."""
    from parkos.auth import generate_signing_key

    return generate_signing_key()
