"""The system under test: the analytics worker and API, each in its own process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.common.proc import process_cpu_seconds
from bench.common.service_process import ROOT, free_port, wait_until_serving
from services.analytics.settings import AnalyticsSettings

SERVICE = "park.analytics.v1.AnalyticsService"
START_TIMEOUT_SECONDS = 90


class Processes:
    """The worker and the API in their own processes, as `make run` starts them."""

    def __init__(self, settings: AnalyticsSettings, public_key: Path, workdir: Path, workers: int = 1) -> None:
        self.port = free_port()
        self.workers = workers
        self.target = f"127.0.0.1:{self.port}"
        self.workdir = workdir
        self.env = {
            **os.environ, "PYTHONPATH": str(ROOT), "PARKOS_ENVIRONMENT": "production", "PARKOS_LOG_LEVEL": "INFO",
            "PARKOS_KAFKA_BOOTSTRAP": settings.kafka_bootstrap, "PARKOS_APP_ID": settings.app_id,
            "PARKOS_TRADES_TOPIC": settings.trades_topic, "PARKOS_TENANTS_TOPIC": settings.tenants_topic,
            "PARKOS_ANALYTICS_TOPIC": settings.analytics_topic, "PARKOS_DLQ_TOPIC": settings.dlq_topic,
            "PARKOS_FACTS_TOPIC": settings.facts_topic, "PARKOS_FACTS_PARTITIONS": str(settings.facts_partitions),
            "PARKOS_TOKEN_PUBLIC_KEY_FILE": str(public_key), "PARKOS_GRPC_PORT": str(self.port),
        }
        self._processes: list[subprocess.Popen[bytes]] = []

    def _spawn(self, module: str, log_name: str) -> Path:
        log_path = self.workdir / log_name
        process = subprocess.Popen([sys.executable, "-m", module], cwd=ROOT, env=self.env,
                                   stdout=log_path.open("wb"), stderr=subprocess.STDOUT)
        self._processes.append(process)
        return log_path

    async def start(self) -> None:
        """Start them; return once every worker holds partitions and the API reports SERVING."""
        worker_logs = [self._spawn("services.analytics.worker", f"worker-{n}.log") for n in range(self.workers)]
        api_log = self._spawn("services.analytics.main", "api.log")
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        for worker_log in worker_logs:
            await self._wait_for_partitions(worker_log, deadline)
        await wait_until_serving(self.target, SERVICE, api_log, self._processes,
                                 timeout=max(deadline - time.monotonic(), 1.0))

    async def _wait_for_partitions(self, worker_log: Path, deadline: float) -> None:
        # Each worker logs its assignment after every rebalance; with several workers the
        # last one to join triggers the rebalance that splits the partitions.
        while not _holds_facts(worker_log):
            self._check_alive(worker_log)
            if time.monotonic() > deadline:
                raise SystemExit(f"a worker got no partitions in {START_TIMEOUT_SECONDS} s; see {worker_log}")
            await asyncio.sleep(0.2)

    def cpu_seconds(self) -> tuple[float, float]:
        """CPU seconds (user + system) used so far by the workers together and by the API (Linux /proc)."""
        workers = sum(process_cpu_seconds(process.pid) or 0.0 for process in self._processes[:self.workers])
        return workers, process_cpu_seconds(self._processes[self.workers].pid) or 0.0

    def pids(self) -> dict[str, int]:
        """Name -> pid of each process under test: 'worker' (or 'worker 1', 'worker 2', ...) and 'API'."""
        workers = self._processes[:self.workers]
        names = ["worker"] if len(workers) == 1 else [f"worker {n + 1}" for n in range(len(workers))]
        return {**{name: process.pid for name, process in zip(names, workers, strict=True)},
                "API": self._processes[self.workers].pid}

    def _check_alive(self, log_path: Path) -> None:
        for process in self._processes:
            if process.poll() is not None:
                raise SystemExit(f"an analytics process exited ({process.returncode}); see {log_path}")

    def stop(self) -> None:
        """SIGTERM both and wait for them; SIGKILL what does not stop within 30 s."""
        for process in self._processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self._processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _holds_facts(worker_log: Path) -> bool:
    """Whether the worker's last assignment included repartition partitions."""
    lines = [line for line in worker_log.read_text(errors="replace").splitlines() if "partitions assigned" in line]
    return bool(lines) and "facts_partitions=[]" not in lines[-1] and '"facts_partitions": []' not in lines[-1]
