"""Percentiles and CPU accounting for scenario rows."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from bench.server import BenchServer


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def milliseconds(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/max of durations given in seconds, in milliseconds."""
    return {
        "n": len(seconds),
        "p50_ms": round(percentile(seconds, 50) * 1000, 2),
        "p95_ms": round(percentile(seconds, 95) * 1000, 2),
        "p99_ms": round(percentile(seconds, 99) * 1000, 2),
        "max_ms": round(max(seconds, default=float("nan")) * 1000, 2),
    }


def _client_cpu() -> float:
    """CPU seconds of this process and of its finished children (clamdscan, sha256sum)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _machine_busy() -> float:
    """CPU seconds all processes on the machine have used (from /proc/stat)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


@contextmanager
def cpu_used(server: BenchServer) -> Iterator[dict[str, float]]:
    """Fills the yielded dict with the CPU seconds each server role, this client and every other
    process on the machine (`others`: the noise other work adds) used inside the block."""
    used: dict[str, float] = {}
    before, client_before, busy_before = server.cpu_seconds(), _client_cpu(), _machine_busy()
    began = time.monotonic()
    yield used
    after = server.cpu_seconds()
    used.update({role: round(after[role] - before.get(role, 0.0), 2) for role in after})
    used["bench_client"] = round(_client_cpu() - client_before, 2)
    busy = _machine_busy() - busy_before
    used["others"] = round(max(0.0, busy - sum(used.values())), 2)
    used["others_share"] = round(used["others"] / ((time.monotonic() - began) * (os.cpu_count() or 1)), 3)
