"""Scenario 1: corpus throughput through the HTTP API, side by side with clamdscan and sha256sum."""

from __future__ import annotations

import os
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

from bench import api, raw, stats
from bench.config import BenchConfig
from bench.server import BenchServer


def rates(files: int, size: int, seconds: float) -> dict[str, float]:
    """Seconds, files/s and MB/s (10^6 bytes) of one pass."""
    return {
        "seconds": round(seconds, 3),
        "files_per_s": round(files / seconds, 1),
        "mb_per_s": round(size / seconds / 1e6, 1),
    }


def _engine_ms(scans: list[api.Scan]) -> dict[str, float]:
    """Mean per-file milliseconds each engine reported (scan_time), and file typing."""
    totals: Counter[str] = Counter()
    for item in scans:
        for name, detail in item.report["scan_results"]["scan_details"].items():
            totals[name] += detail["scan_time"]
        totals["FileType"] += item.report["process_info"]["processing_time_details"]["filetype_time"]
    return {name: round(total / len(scans), 2) for name, total in totals.items()}


def _mean_ms(scans: list[api.Scan], field: str) -> float:
    return round(statistics.mean(s.report["process_info"][field] for s in scans), 1)


def summarize(run: api.Run) -> dict[str, Any]:
    """Rates, per-file latency, verdicts and server-side timings of one HTTP pass."""
    scans = run.scans
    return {
        **rates(len(scans), run.bytes, run.seconds),
        "files": len(scans),
        "bytes": run.bytes,
        "per_file": stats.milliseconds([s.total_seconds for s in scans]),
        "upload": stats.milliseconds([s.upload_seconds for s in scans]),
        "polls_per_file": round(statistics.mean(s.polls for s in scans), 1),
        "queue_time_ms_mean": _mean_ms(scans, "queue_time"),
        "processing_time_ms_mean": _mean_ms(scans, "processing_time"),
        "engine_scan_ms_mean": _engine_ms(scans),
        "verdicts": dict(Counter(s.report["scan_results"]["scan_all_result_a"] for s in scans)),
    }


def raw_tools(config: BenchConfig, server: BenchServer, corpus_dir: Path, paths: list[Path]) -> dict[str, Any]:
    """Median of `raw_repeats` runs of each raw tool on the same files (clamd's cache emptied first)."""
    conf = raw.clamd_config(server.clamd_socket, config.work)
    size = sum(p.stat().st_size for p in paths)
    clamdscan, sha256sum, clamd_cpu = [], [], []
    for _ in range(config.raw_repeats):
        server.restart_clamd()
        before = server.cpu_seconds()["clamd"]
        clamdscan.append(raw.clamdscan(corpus_dir, conf).seconds)
        clamd_cpu.append(server.cpu_seconds()["clamd"] - before)
        sha256sum.append(raw.sha256sum(corpus_dir, [p.name for p in paths]).seconds)
    found = {
        tool: {**rates(len(paths), size, statistics.median(seconds)), "runs": len(seconds)}
        for tool, seconds in (("clamdscan", clamdscan), ("sha256sum", sha256sum))
    }
    found["clamdscan"]["clamd_cpu_ms_per_file"] = round(statistics.median(clamd_cpu) * 1000 / len(paths), 1)
    return found


def run(
    config: BenchConfig, server: BenchServer, paths: list[Path], raw: dict[str, Any]
) -> tuple[dict[str, Any], api.Run]:
    """The row, and the HTTP pass itself (the duplicates scenario compares against it)."""
    with stats.cpu_used(server) as cpu:
        first = api.scan_files(server.url, paths, config.clients, config.polling)
    scanhive = summarize(first)
    row = {
        "scenario": "throughput",
        "clients": config.clients,
        "workers": config.workers,
        "api_processes": config.api_processes,
        "cores": os.cpu_count() or 1,
        "clamd_signatures": server.clamd_signatures(),
        "polling": {"first_s": config.polling.first, "most_s": config.polling.most},
        "scanhive": {**scanhive, "cpu_seconds": cpu},
        **raw,
        "ratio_vs_clamdscan": round(scanhive["files_per_s"] / raw["clamdscan"]["files_per_s"], 3),
        "ratio_vs_sha256sum": round(scanhive["files_per_s"] / raw["sha256sum"]["files_per_s"], 3),
    }
    return row, first
