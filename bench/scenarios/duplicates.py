"""Scenario 5: the throughput corpus submitted a second time; is it answered from earlier results?"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import api, corpus, stats
from bench.config import BenchConfig
from bench.scenarios.throughput import summarize
from bench.server import BenchServer

_MARKER_WORDS = ("cache", "reuse", "duplicate", "dedup")


def reuse_marker(report: dict[str, Any], path: str = "") -> str | None:
    """Where the report says it was answered from an earlier result (a truthy key naming reuse)."""
    for key, value in report.items():
        here = f"{path}.{key}" if path else key
        if any(word in key.lower() for word in _MARKER_WORDS) and value:
            return here
        if isinstance(value, dict) and (found := reuse_marker(value, here)):
            return found
    return None


def _verdict(item: api.Scan) -> int:
    return item.report["scan_results"]["scan_all_result_i"]


def one_at_a_time(config: BenchConfig, server: BenchServer) -> dict[str, Any]:
    """New corpus files, each sent and then sent again by one client: how much sooner is it answered?

    The corpus passes measure throughput with every core busy, where the upload itself bounds
    the second pass; this measures one file's answer time, first and resubmitted, at low load.
    """
    files = [corpus.build(config.files + index, config.seed) for index in range(config.resubmit_samples)]
    first, again = [], []
    with api.Client(server.url) as http:
        for item in files:
            first.append(api.scan(http, item.name, item.data, config.latency_polling))
            again.append(api.scan(http, item.name, item.data, config.latency_polling))
    before = stats.milliseconds([s.total_seconds for s in first])
    after = stats.milliseconds([s.total_seconds for s in again])
    return {
        "first": before,
        "resubmitted": after,
        "speedup_p50": round(before["p50_ms"] / after["p50_ms"], 2),
        "marked_reused": sum(1 for s in again if reuse_marker(s.report)),
        "files": len(files),
    }


def run(config: BenchConfig, server: BenchServer, paths: list[Path], first: api.Run) -> dict[str, Any]:
    """Second pass with the same clients (clamd restarted before by the caller, its cache empty)."""
    with stats.cpu_used(server) as cpu:
        second = api.scan_files(server.url, paths, config.clients, config.polling)
    before, again = summarize(first), summarize(second)
    markers = [reuse_marker(s.report) for s in second.scans]
    changed = sum(1 for a, b in zip(first.scans, second.scans, strict=True) if _verdict(a) != _verdict(b))
    return {
        "scenario": "duplicates",
        "first": before,
        "second": {**again, "cpu_seconds": cpu},
        "speedup_files_per_s": round(again["files_per_s"] / before["files_per_s"], 2),
        "speedup_per_file_p50": round(before["per_file"]["p50_ms"] / again["per_file"]["p50_ms"], 2),
        "marked_reused": sum(1 for m in markers if m),
        "marker_field": next((m for m in markers if m), None),
        "verdict_changed": changed,
        "one_at_a_time": one_at_a_time(config, server),
    }
