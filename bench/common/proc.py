"""CPU time of a process the benchmark started (Linux /proc), for per-call CPU figures.

On a shared machine latencies swing with whatever else runs; the CPU a service spends per
call barely does, so the benchmarks print it next to their latencies.
"""
from __future__ import annotations

import os


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
