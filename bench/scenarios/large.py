"""Scenario 4: one large upload (1 GiB): ingest MB/s and the server processes' peak memory growth."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from bench import api, corpus, procfs, stats
from bench.config import BenchConfig
from bench.server import BenchServer
from scanhive.analysis import ingest

_KIB_PER_MIB = 1024
_PROBE_BYTES = 128 * 1024 * 1024


def digests_mb_per_s() -> float:
    """How fast one core computes md5, sha1, sha256 and sha512 of the same bytes right now.

    What ingest must do for every byte; this VM's speed at it moved by a third from minute to
    minute on an idle machine, so the upload rate is reported next to it.
    """
    block = next(corpus.stream(1024 * 1024, 0))
    digests = [hashlib.new(name) for name in ingest.ALGORITHMS]
    began = time.process_time()
    for _ in range(_PROBE_BYTES // len(block)):
        for digest in digests:
            digest.update(block)
    return round(_PROBE_BYTES / (time.process_time() - began) / 1e6, 1)


def _growth_mib(before: dict[int, procfs.Memory], after: dict[int, procfs.Memory]) -> float:
    """Largest peak-over-baseline of the processes (VmHWM after minus VmRSS before)."""
    grown = [(after[pid].hwm_kib - before[pid].rss_kib) / _KIB_PER_MIB for pid in before if pid in after]
    return round(max(grown, default=0.0), 1)


def _snapshot(pids: list[int]) -> dict[int, procfs.Memory]:
    return {pid: procfs.memory(pid) for pid in pids}


def run(config: BenchConfig, server: BenchServer) -> dict[str, Any]:
    """Stream the upload from a generator (Content-Length set, so not chunked), then poll to final."""
    roles = server.roles()
    watched = {role: pids for role, pids in roles.items() if role in ("api", "workers")}
    for pids in watched.values():
        for pid in pids:
            procfs.reset_peak(pid)
    before = {role: _snapshot(pids) for role, pids in watched.items()}
    size = config.large_upload
    probe = digests_mb_per_s()
    with api.Client(server.url) as http, stats.cpu_used(server) as cpu:
        began = time.perf_counter()
        answer = http.post_file("large.bin", corpus.stream(size, config.seed), {"content-length": str(size)})
        upload_seconds = time.perf_counter() - began
        after_upload = {role: _snapshot(pids) for role, pids in watched.items()}
        report, _ = api.wait_final(http, answer["data_id"], api.Polling(0.05, 0.05))
        final_seconds = time.perf_counter() - began
    after = {role: _snapshot(pids) for role, pids in watched.items()}
    return {
        "scenario": "large_file",
        "bytes": size,
        "upload_seconds": round(upload_seconds, 2),
        "upload_mb_per_s": round(size / upload_seconds / 1e6, 1),
        "final_seconds": round(final_seconds, 2),
        "api_growth_mib_during_upload": _growth_mib(before["api"], after_upload["api"]),
        "api_growth_mib": _growth_mib(before["api"], after["api"]),
        "worker_growth_mib": _growth_mib(before["workers"], after["workers"]),
        "api_rss_mib_before": round(next(iter(before["api"].values())).rss_kib / _KIB_PER_MIB, 1),
        "result": report["scan_results"]["scan_all_result_a"],
        "hash_time_ms": report["process_info"]["hash_time"],
        "digests_one_core_mb_per_s": probe,
        "cpu_seconds": cpu,
    }

