"""A core of its own for the service under test (``--pin``), as a container's cpuset would give it.

On the two-core development machine the load generator, the Kafka broker, the store and the
service all take turns on the same cores, so a call's tail measures how often the kernel
preempts the service for somebody else more than it measures the service. In production the
clients run elsewhere and the service has its own CPU request (helm/). ``--pin`` gives the
service process the last CPU alone and moves the benchmark itself and the local infrastructure
(found by their pid files under ``.infra``) to the others; the affinities are put back when
the benchmark ends. Both placements are real measurements: the report says which one it is.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_PID_FILES = {"Kafka": "kafka/kafka.pid", "store": "secantus/secantus.pid"}


def infra_pids(infra_dir: Path | None = None) -> dict[str, int]:
    """'Kafka' / 'store' -> pid of the running local broker and store (none when they run elsewhere)."""
    folder = infra_dir or Path(os.environ.get("PARKOS_INFRA_DIR", ROOT / ".infra"))
    pids = {}
    for name, pid_file in _PID_FILES.items():
        with contextlib.suppress(OSError, ValueError):
            pid = int((folder / pid_file).read_text().strip())
            if Path(f"/proc/{pid}").exists():
                pids[name] = pid
    return pids


def set_affinity(pid: int, cpus: set[int]) -> None:
    """Every thread of ``pid`` (and the threads it starts later) runs only on ``cpus``."""
    subprocess.run(["taskset", "-a", "-p", "-c", ",".join(map(str, sorted(cpus))), str(pid)],
                   check=True, capture_output=True)


@contextlib.contextmanager
def service_on_own_cpu(service_pid: int) -> Iterator[str]:
    """Pin ``service_pid`` to the last CPU and this process and the infrastructure to the rest.

    Yields a description of the placement for the report; restores every affinity on exit.
    """
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        yield "not pinned (one CPU)"
        return
    service_cpu, others = {cpus[-1]}, set(cpus[:-1])
    moved = [os.getpid(), *infra_pids().values()]
    set_affinity(service_pid, service_cpu)
    for pid in moved:
        set_affinity(pid, others)
    try:
        yield f"service pinned to CPU {cpus[-1]}; benchmark, Kafka and store on CPU {','.join(map(str, sorted(others)))}"
    finally:
        for pid in moved:
            with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
                set_affinity(pid, set(cpus))
