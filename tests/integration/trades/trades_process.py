"""The trades service as it runs in production, in a process of its own (end-to-end tests)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

ROOT = Path(__file__).resolve().parents[3]
SERVICE = "park.trades.v1.TradesService"


def service_env(infra, database: str, public_key_file: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """``PARKOS_*`` for a trades process on a fresh database and topics of its own, in production mode."""
    return {
        **os.environ,
        "PARKOS_GRPC_PORT": str(_free_port()),
        "PARKOS_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "PARKOS_MONGO_URI": infra.mongo_uri,
        "PARKOS_MONGO_DATABASE": database,
        "PARKOS_TOKEN_PUBLIC_KEY_FILE": str(public_key_file),
        "PARKOS_ENVIRONMENT": "production",
        "PARKOS_TENANTS_TOPIC": infra.unique_name("e2e.trades.tenants"),
        "PARKOS_TRADES_TOPIC": infra.unique_name("e2e.trades.trades"),
        "PARKOS_DLQ_TOPIC": infra.unique_name("e2e.trades.dlq"),
        "PARKOS_DIRECTORY_GROUP": infra.unique_name("e2e-trades-directory"),
        "PARKOS_RELAY_ID": "trades-e2e-0",  # a restarted replica takes its outbox lease back at once
        "PARKOS_PAGE_TOKEN_SECRET": "e2e-page-token-secret-0123456789",
        "PARKOS_POOL_CLOSE_INTERVAL_SECONDS": "0.3",
        # parkctl runs from the source tree even where it is not installed
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tools" / "parkctl")]),
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServiceProcess:
    """The trades service as it runs in production, in its own process."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.target = f"127.0.0.1:{env['PARKOS_GRPC_PORT']}"
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self, timeout: float = 60.0) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "services.trades.main"], cwd=ROOT, env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT)
        async with grpc.aio.insecure_channel(self.target) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while loop.time() < deadline:
                assert self.process.poll() is None, f"the trades service exited; see {self.log}"
                try:
                    reply = await stub.Check(health_pb2.HealthCheckRequest(service=SERVICE), timeout=1)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.aio.AioRpcError:
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError(f"the trades service never became SERVING; see {self.log}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


