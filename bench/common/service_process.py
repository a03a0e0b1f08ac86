"""A Park OS service in its own process, configured as in production, for a benchmark to call."""
from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.common.proc import process_cpu_seconds
from bench.common.stats import LatencyHistogram

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def wait_until_serving(target: str, service: str, log: Path, alive: list[subprocess.Popen[bytes]],
                             timeout: float = 60.0) -> None:
    """Return once ``service`` at ``target`` reports SERVING; exit if one of ``alive`` dies or time runs out."""
    async with grpc.aio.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in alive:
                if process.poll() is not None:
                    raise SystemExit(f"a service process exited ({process.returncode}); see {log}")
            with contextlib.suppress(grpc.aio.AioRpcError):
                reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            await asyncio.sleep(0.2)
    raise SystemExit(f"{service} never became SERVING; see {log}")


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM ``process`` and wait for it; SIGKILL it if it does not stop within 30 s."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


class ServiceProcess:
    """``python -m <module>`` on a free port with ``env``, its output in ``log`` (JSON lines)."""

    def __init__(self, module: str, service: str, env: Mapping[str, str], log: Path) -> None:
        self.port = free_port()
        self.target = f"127.0.0.1:{self.port}"
        self._module, self._service, self._log = module, service, log
        self._env = {**env, "PARKOS_GRPC_PORT": str(self.port)}
        self._process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        """Start the process; return once its gRPC health reports SERVING."""
        with self._log.open("wb") as log:
            self._process = subprocess.Popen([sys.executable, "-m", self._module], cwd=ROOT, env=self._env,
                                             stdout=log, stderr=subprocess.STDOUT)
        await wait_until_serving(self.target, self._service, self._log, [self._process])

    @property
    def pid(self) -> int:
        """The service's process id (once started)."""
        if self._process is None:
            raise RuntimeError("the service has not been started")
        return self._process.pid

    def cpu_seconds(self) -> float | None:
        """CPU seconds the service process has used so far (None: not measurable here)."""
        return process_cpu_seconds(self._process.pid) if self._process is not None else None

    def log_position(self) -> int:
        """Where the service's log ends now."""
        return self._log.stat().st_size

    def handled_latency(self, start: int, end: int, method: str) -> LatencyHistogram:
        """Durations of ``method`` calls as the service's access log has them between two log positions:
        from its interceptor's start to the handler's end, without the transport or the client."""
        handled = LatencyHistogram()
        with self._log.open("rb") as log:
            log.seek(start)
            for line in log.read(end - start).splitlines():
                if b'"rpc"' not in line:
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("event") == "rpc" and str(entry.get("method", "")).endswith(method):
                    handled.record(float(entry["duration_ms"]) / 1000)
        return handled

    def stop(self) -> None:
        """SIGTERM the service and wait for it (SIGKILL after 30 s)."""
        stop_process(self._process)
