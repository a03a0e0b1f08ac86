"""Where the benchmarks find the running infrastructure, and how they leave it clean.

Addresses come from the same environment variables as the rest of Park OS
(`PARKOS_KAFKA_BOOTSTRAP`, `PARKOS_MONGO_URI`, or just the ports `PARKOS_KAFKA_PORT`,
`PARKOS_MONGO_PORT` that `make infra-up` uses), defaulting to the embedded local
infrastructure on loopback. Benchmarks never start or stop it: it is shared.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import secrets
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.client import AIOKafkaClient
from pymongo import AsyncMongoClient, MongoClient
from pymongo.errors import PyMongoError


@dataclass(frozen=True)
class BenchInfra:
    """Addresses of the Kafka broker and the MongoDB-compatible server, and a run id."""

    kafka_bootstrap: str
    mongo_uri: str
    run_id: str

    @classmethod
    def from_env(cls, *, kafka_bootstrap: str | None = None, mongo_uri: str | None = None) -> BenchInfra:
        """Explicit arguments first, then PARKOS_* variables, then the local defaults."""
        kafka_port = os.environ.get("PARKOS_KAFKA_PORT", "19092")
        mongo_port = os.environ.get("PARKOS_MONGO_PORT", "27117")
        return cls(
            kafka_bootstrap=kafka_bootstrap
            or os.environ.get("PARKOS_KAFKA_BOOTSTRAP")
            or f"127.0.0.1:{kafka_port}",
            mongo_uri=mongo_uri
            or os.environ.get("PARKOS_MONGO_URI")
            or f"mongodb://127.0.0.1:{mongo_port}/?directConnection=true",
            run_id=time.strftime("%Y%m%d%H%M%S") + secrets.token_hex(2),
        )

    def name(self, prefix: str, part: str = "") -> str:
        """A topic or database name unique to this run, e.g. `bench_outbox_20250101120000ab12_raw`.

        Only letters, digits and `_`: valid both as a Kafka topic and a Mongo database name.
        """
        return "_".join(piece for piece in (prefix, self.run_id, part) if piece)

    def check_reachable(self, timeout: float = 2.0) -> None:
        """Fail fast, with the fix, when the broker or the store is not listening."""
        for label, host, port in (
            ("Kafka", *_host_port(self.kafka_bootstrap.split(",")[0], 9092)),
            ("MongoDB", *_mongo_host_port(self.mongo_uri)),
        ):
            try:
                with socket.create_connection((host, port), timeout=timeout):
                    pass
            except OSError as error:
                raise SystemExit(
                    f"{label} is not reachable at {host}:{port} ({error}); start it with `make infra-up`"
                ) from error


async def wait_for_leaders(bootstrap: str, topics: dict[str, int], timeout: float = 30.0) -> None:
    """Until every partition of each new topic has a leader (`topics`: name -> partition count).

    A topic just created answers produce requests with NotLeaderForPartition for a moment;
    waiting here keeps that start-up out of the first measurement.
    """
    client = AIOKafkaClient(bootstrap_servers=bootstrap, client_id="parkos-bench-metadata")
    await client.bootstrap()
    try:
        deadline = time.monotonic() + timeout
        while True:
            await client.force_metadata_update()
            ready = all(
                len(client.cluster.available_partitions_for_topic(name) or ()) >= count
                for name, count in topics.items()
            )
            if ready:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"topics {sorted(topics)} have no leader after {timeout:g} s")
            await asyncio.sleep(0.1)
    finally:
        await client.close()


async def delete_topics(bootstrap: str, names: Iterable[str]) -> None:
    """Delete the topics a run created (errors are ignored: cleanup must not fail a run)."""
    names = list(names)
    if not names:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="parkos-bench-cleanup")
    with contextlib.suppress(Exception):
        await admin.start()
        try:
            await admin.delete_topics(names, timeout_ms=30000)
        finally:
            await admin.close()


async def drop_databases(client: AsyncMongoClient, names: Iterable[str]) -> None:
    """Drop the databases a run created (errors are ignored)."""
    for name in names:
        with contextlib.suppress(Exception):
            await client.drop_database(name)


def describe_machine(mongo_uri: str | None = None) -> str:
    """One line on what the figures were measured on: cores, load, Python, and which store
    server (`mongo_uri`, else the environment's) answers."""
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"{os.cpu_count()} cores, load average {load}, "
        f"Python {platform.python_version()} on {platform.system()} {platform.release()}, "
        f"store {describe_store(mongo_uri or BenchInfra.from_env().mongo_uri)}"
    )


def describe_store(mongo_uri: str) -> str:
    """The store server's build, as its buildInfo says (SecantusDB's Rust and Python servers
    differ several times over in speed, so every figure names the one it was measured on)."""
    try:
        with MongoClient(mongo_uri, serverSelectionTimeoutMS=2000) as client:
            info = client.admin.command("buildInfo")
    except PyMongoError as error:
        return f"unknown ({type(error).__name__})"
    compiler = info.get("buildEnvironment", {}).get("cc", "")
    if "secantusVersion" in info:
        build = "Rust server" if compiler == "rustc" else "Python server"
        return f"SecantusDB {info['secantusVersion']} ({build})"
    return f"MongoDB {info.get('version', '?')}"


def _host_port(address: str, default_port: int) -> tuple[str, int]:
    host, _, port = address.strip().rpartition(":")
    return (host or address, int(port)) if port.isdigit() else (address, default_port)


def _mongo_host_port(uri: str) -> tuple[str, int]:
    netloc = urlsplit(uri).netloc.rpartition("@")[2].split(",")[0]
    return _host_port(netloc, 27017)
