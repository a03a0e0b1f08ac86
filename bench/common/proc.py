"""CPU time of a process the benchmark started (Linux /proc), for per-call CPU figures.

On a shared machine latencies swing with whatever else runs; the CPU a service spends per
call barely does, so the benchmarks print it next to their latencies.
"""
from __future__ import annotations

import os
import time


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds used so far by process ``pid``; None where /proc is not there."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fmt_cpu_per_call(cpu_seconds: float | None, calls: int) -> str:
    """``'850 us'``; ``'n/a'`` without a CPU figure or calls."""
    if cpu_seconds is None or calls <= 0:
        return "n/a"
    return f"{cpu_seconds / calls * 1e6:,.0f} us"


def machine_busy_seconds() -> float | None:
    """CPU seconds all cores have spent running something since boot (Linux /proc/stat); None elsewhere.

    Idle, iowait and steal (time the hypervisor gave to other machines) do not count.
    """
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq = (fields + [0] * 7)[:7]
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


class CoresBusy:
    """How many cores each named process, and the whole machine, kept busy between ``start`` and ``stop``.

    On a shared machine a tail latency is often somebody else's CPU: this says whose.
    """

    def __init__(self, pids: dict[str, int]) -> None:
        self._pids = pids
        self._before: dict[str, float | None] = {}
        self._started = 0.0

    def _now(self) -> dict[str, float | None]:
        return {"machine": machine_busy_seconds(), **{name: process_cpu_seconds(pid) for name, pid in self._pids.items()}}

    def start(self) -> None:
        self._before, self._started = self._now(), time.monotonic()

    def stop(self) -> dict[str, float]:
        """Name -> cores used on average ('machine': all processes); names without a figure are left out."""
        after, seconds = self._now(), max(time.monotonic() - self._started, 1e-9)
        return {name: (after[name] - before) / seconds for name, before in self._before.items()
                if before is not None and after[name] is not None}


def fmt_cores_busy(cores: dict[str, float]) -> str:
    """``'machine 1.84 cores: service 0.43, store 0.70, ...'``."""
    if "machine" not in cores:
        return "cores busy: not measurable here"
    parts = ", ".join(f"{name} {busy:.2f}" for name, busy in cores.items() if name != "machine")
    return f"machine {cores['machine']:.2f} of {os.cpu_count()} cores busy: {parts}"
