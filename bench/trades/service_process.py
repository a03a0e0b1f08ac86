"""Step 0: the trades service in its own process, configured as in production."""
from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.common import BenchInfra
from bench.common.proc import process_cpu_seconds

ROOT = Path(__file__).resolve().parents[2]
SERVICE = "park.trades.v1.TradesService"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServiceProcess:
    """The trades service in its own process, configured as in production."""

    def __init__(self, infra: BenchInfra, database: str, topics: dict[str, str], key_file: Path, log: Path) -> None:
        self.target = f"127.0.0.1:{_free_port()}"
        self._env = {
            **os.environ, "PARKOS_GRPC_PORT": self.target.rsplit(":", 1)[1], "PARKOS_MONGO_DATABASE": database,
            "PARKOS_MONGO_URI": infra.mongo_uri, "PARKOS_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
            "PARKOS_TOKEN_PUBLIC_KEY_FILE": str(key_file), "PARKOS_ENVIRONMENT": "production",
            "PARKOS_LOG_LEVEL": "INFO", "PARKOS_TENANTS_TOPIC": topics["tenants"],
            "PARKOS_TRADES_TOPIC": topics["trades"], "PARKOS_DLQ_TOPIC": topics["dlq"],
            "PARKOS_DIRECTORY_GROUP": f"bench-trades-directory-{infra.run_id}",
            "PARKOS_PAGE_TOKEN_SECRET": "bench-trades-page-token-secret",
        }
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        with self._log.open("wb") as log:
            self._process = subprocess.Popen([sys.executable, "-m", "services.trades.main"], cwd=ROOT,
                                             env=self._env, stdout=log, stderr=subprocess.STDOUT)
        async with grpc.aio.insecure_channel(self.target) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    raise SystemExit(f"the trades service exited; see {self._log}")
                with contextlib.suppress(grpc.aio.AioRpcError):
                    reply = await stub.Check(health_pb2.HealthCheckRequest(service=SERVICE), timeout=1)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                await asyncio.sleep(0.2)
        raise SystemExit(f"the trades service never became SERVING; see {self._log}")

    def cpu_seconds(self) -> float | None:
        """CPU seconds the service process has used so far (None: not measurable here)."""
        return process_cpu_seconds(self._process.pid) if self._process is not None else None

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
