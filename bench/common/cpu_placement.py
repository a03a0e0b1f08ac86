"""A CPU of its own for the service under test or the store (``--pin``), as a container's cpuset would give it.

On the two-core development machine the load generator, the Kafka broker, the store and the
service all take turns on the same cores, so a call's tail measures how often the kernel
preempts the service for somebody else more than it measures the service. In production the
clients run elsewhere and the service is limited to its own CPU (helm/ requests 100-200m and
caps it at one CPU; a dedicated core is the closest this machine gets). ``--pin service`` gives
the service process the last CPU alone and moves the benchmark itself and the local
infrastructure (found by their pid files under ``.infra``) to the others; ``--pin store`` does
the same for the store, and bench.realtime's ``--pin worker`` for the analytics worker. The
affinities are put back when the benchmark ends. Every placement is a real measurement: the
report says which one it is.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator, Mapping
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
    command = ["taskset", "-a", "-p", "-c", ",".join(map(str, sorted(cpus))), str(pid)]
    try:
        subprocess.run(command, check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as error:
        raise RuntimeError(f"cannot pin process {pid}: {error.stderr.strip() or error}") from None


PLACEMENTS = ("service", "store")


def placed_processes(under_test: Mapping[str, int]) -> dict[str, int]:
    """The processes a placement moves (and the reports show): those under test (name -> pid),
    the local Kafka and store, this benchmark."""
    return {**under_test, **infra_pids(), "benchmark": os.getpid()}


@contextlib.contextmanager
def alone_on_a_cpu(alone: str | None, processes: dict[str, int]) -> Iterator[str]:
    """Pin ``processes[alone]`` to the last CPU and every other process to the rest.

    Yields a description of the placement for the report; gives every process back the CPUs
    it had before on exit.
    ``alone`` None (or a process not running here) leaves everything where it is.
    """
    cpus = sorted(os.sched_getaffinity(0))
    if alone is None or alone not in processes:
        yield "not pinned" if alone is None else f"not pinned ({alone} not found)"
        return
    if len(cpus) < 2:
        yield "not pinned (one CPU)"
        return
    own, rest = {cpus[-1]}, set(cpus[:-1])
    others = [name for name in processes if name != alone]
    before = {pid: os.sched_getaffinity(pid) for pid in processes.values()}
    try:
        for name, pid in processes.items():
            set_affinity(pid, own if name == alone else rest)
        yield f"{alone} pinned to CPU {cpus[-1]}; {', '.join(others)} on CPU {','.join(map(str, sorted(rest)))}"
    finally:
        for pid, allowed in before.items():
            with contextlib.suppress(RuntimeError, FileNotFoundError):
                set_affinity(pid, allowed)
