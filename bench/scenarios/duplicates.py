"""Scenario 5: the throughput corpus submitted a second time; is it answered from earlier results?"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import api, stats
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
    }
